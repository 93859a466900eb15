import type { Queryable } from '../db/database.ts';
import type { FhirModel } from '../repository/fhir-model.ts';
import type { OperationHandler } from '../repository/router/fhir-router.ts';
import type { FhirRequest } from '../repository/router/fhir-request.ts';
import { findIds } from '../repository/search/index.ts';
import { SqlParams } from '../repository/search/sql-builder.ts';
import { CallerAccess } from './request-access.ts';

type Json = Record<string, any>;

/** The request's policy, when it has one that hides anything (admin and worker have none). */
export function restrictedAccess(req: FhirRequest): CallerAccess | undefined {
  const a = req.access;
  return a instanceof CallerAccess && a.visibleIf ? a : undefined;
}

/**
 * PIXm (`$ihe-pix`) answers with every identifier of a person: the caller must be able to see a
 * record carrying the source identifier. A hidden record and an unknown identifier get the same
 * 403, so the answer never tells a refused caller whether the identifier exists.
 */
export function guardIhePix(db: Queryable, model: FhirModel, handler: OperationHandler): OperationHandler {
  return async (req, target) => {
    const access = restrictedAccess(req);
    if (access) {
      const sources = req.query.filter(([k]) => k === 'sourceIdentifier').map(([, v]) => v);
      if (sources.length === 1 && sources[0]) {
        const ids = await findIds(db, model, 'Patient', [['identifier', sources[0]]], {
          visibleIf: access.visibleIf!,
        });
        if (ids.length === 0) throw access.refusal('The person with this sourceIdentifier');
      }
    }
    return handler(req, target);
  };
}

/**
 * `$match` ranks candidate records: a candidate the caller may not see is left out of the
 * answer (and of its total), as in a search.
 */
export function guardMatch(db: Queryable, handler: OperationHandler): OperationHandler {
  return async (req, target) => {
    const out = await handler(req, target);
    const access = restrictedAccess(req);
    if (!access || out.status !== 200 || out.body === undefined) return out;
    const bundle = JSON.parse(out.body) as Json;
    const entries: Json[] = Array.isArray(bundle.entry) ? bundle.entry : [];
    const ids = entries.map((e) => e.resource?.id).filter((id): id is string => typeof id === 'string');
    const visible = await visiblePatients(db, access, ids);
    bundle.entry = entries.filter((e) => visible.has(e.resource?.id));
    if (typeof bundle.total === 'number') bundle.total = bundle.entry.length;
    return { ...out, body: JSON.stringify(bundle) };
  };
}

async function visiblePatients(db: Queryable, access: CallerAccess, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const sql = new SqlParams();
  const where = access.visibleIf!('r', sql.bind);
  const r = await db.query<{ id: string }>(
    `SELECT r.id FROM resource r WHERE r.resource_type = 'Patient' AND r.id = ANY(${sql.bind(ids)}::text[]) AND ${where}`,
    sql.values,
  );
  return new Set(r.rows.map((x) => x.id));
}
