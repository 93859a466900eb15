import path from 'node:path';
import express, { Router, type Request } from 'express';
import type { Institution, InstitutionRegistry } from '../institutions/types.ts';
import { stringifyFhirJson } from '../kernel/fhir-json.ts';
import { badRequest, notFound } from '../kernel/outcomes.ts';
import { sampleInstitution } from '../mapping/engine/sample-institution.ts';
import type { CompiledMapping, LoadProblem } from '../mapping/engine/index.ts';
import type { LiveMappings } from '../mapping/live/live-mappings.ts';
import type { FhirModel } from '../repository/fhir-model.ts';
import { mapSample } from './map-sample.ts';
import type { SensitivityRules } from '../mapping/sensitivity/index.ts';
import { requireAdmin } from './require-admin.ts';

export interface MappingsRoutesDeps {
  mappings: LiveMappings;
  model: FhirModel;
  /** `https://county-hie.org/fhir` (config.canonicalBase): identifiers in test Bundles use it. */
  canonicalBase: string;
  maxBodyBytes: number;
  /** To test as a registered institution (its timezone, charset, id in keys); absent: a sample one. */
  institutions?: Pick<InstitutionRegistry, 'get' | 'list'>;
  /** The rule table the gateway labels with (a sample is labelled and validated as at /ingest). */
  sensitivity?: SensitivityRules;
}

const INSTITUTION_ID = /^[a-z0-9-]{2,40}$/;

/**
 * `/admin/mappings` for administrators: what is loaded and how much it is used, the refused
 * reload if there is one, and a dry run of a mapping on a sample (nothing archived or stored).
 */
export function mappingsRoutes(deps: MappingsRoutesDeps): Router {
  const router = Router();
  router.use('/admin/mappings', requireAdmin('/admin/mappings'));

  router.get('/admin/mappings', (_req, res) => {
    const live = deps.mappings;
    const failure = live.lastError();
    res.json({
      dir: live.dir,
      loadedAt: live.loadedAt,
      watch: live.watchMode,
      items: live.mappings.map((m) => ({
        id: m.id,
        version: m.version,
        format: m.format,
        feed: m.feed,
        // HL7 v2: the events the file handles (`ADT^A01`…), as selection reads them.
        ...(m.messageTypes ? { messageTypes: [...m.messageTypes] } : {}),
        // Empty with `default: true`: the shipped mapping for every institution without its own.
        institutions: [...(m.institutions ?? [])],
        // HL7: the sending applications (MSH-3) the file is limited to, when it names any.
        ...(m.applications ? { applications: [...m.applications] } : {}),
        default: m.institutions === undefined,
        file: relative(live.dir, m.file),
        ...live.usage(m.id),
      })),
      conceptMaps: [...live.conceptMaps.values()].map((cm) => ({
        id: cm.id,
        file: relative(live.dir, cm.file),
      })),
      lastError: failure
        ? { at: failure.at, problems: failure.problems.map((p) => problemFor(live.dir, p)) }
        : null,
    });
  });

  // The sample is the raw body, whatever its type: CSV text or a JSON object, as a feed sends it.
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes });
  router.post('/admin/mappings/:id/\\$test', raw, async (req, res) => {
    const id = String(req.params.id);
    const mapping = deps.mappings.byId(id);
    if (!mapping)
      throw notFound(
        `No mapping "${id}" is loaded (loaded: ${deps.mappings.mappings.map((m) => m.id).join(', ') || 'none'})`,
      );
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (body.length === 0)
      throw badRequest('Send the sample (CSV text or a JSON object) as the request body');
    const institution = await pickInstitution(deps, mapping, req);
    const charset = /charset=([^;]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.trim();
    const messages = mapSample(mapping, body, {
      institution,
      canonicalBase: deps.canonicalBase,
      model: deps.model,
      ...(deps.sensitivity ? { sensitivity: deps.sensitivity } : {}),
      ...(charset ? { charset } : {}),
    });
    const ok = messages.every((m) => !m.issues.some((i) => i.severity === 'error' || i.severity === 'fatal'));
    res.type('application/json');
    // Mapped numbers are kept as written (LosslessNumber): the FHIR serialiser keeps them so.
    res.send(
      stringifyFhirJson({
        mapping: {
          id: mapping.id,
          version: mapping.version,
          file: relative(deps.mappings.dir, mapping.file),
        },
        institution: institution.id,
        ok,
        messages,
      }),
    );
  });
  return router;
}

/**
 * `?institution=` names a registered institution; without it, the first one the mapping names or
 * the first registered for the feed; else a sample institution (the CLI does the same).
 */
async function pickInstitution(
  deps: MappingsRoutesDeps,
  m: CompiledMapping,
  req: Request,
): Promise<Institution> {
  const asked = typeof req.query.institution === 'string' ? req.query.institution : undefined;
  if (asked !== undefined && !INSTITUTION_ID.test(asked))
    throw badRequest(`institution "${asked}" is not an institution id (^[a-z0-9-]{2,40}$)`, 'institution');
  if (deps.institutions) {
    if (asked !== undefined) {
      const found = await deps.institutions.get(asked);
      if (!found) throw badRequest(`Institution "${asked}" is not registered`, 'institution');
      return found;
    }
    const all = await deps.institutions.list();
    const found =
      all.find((i) => m.institutions?.includes(i.id)) ??
      all.find((i) => i.formats.includes(`${m.format}:${m.feed}`));
    if (found) return found;
  }
  return sampleInstitution(asked ?? m.institutions?.[0] ?? 'sample-institution', m);
}

/** Paths as the administrator edits them (`csv/village-visits.yaml`), not the server's layout. */
function relative(dir: string, file: string): string {
  const r = path.relative(dir, file);
  return r.startsWith('..') || path.isAbsolute(r) ? file : r.split(path.sep).join('/');
}

function problemFor(dir: string, p: LoadProblem): LoadProblem {
  return { ...p, file: relative(dir, p.file) };
}
