import type { Identifier, Parameters, ParametersParameter, Patient } from 'fhir/r4';
import type { Queryable } from '../../db/database.ts';
import { parseFhirJson, stringifyFhirJson } from '../../kernel/fhir-json.ts';
import { badRequest, fail } from '../../kernel/outcomes.ts';
import type { OperationHandler } from '../../repository/router/fhir-router.ts';
import { jsonResponse } from '../../repository/router/respond.ts';
import { search } from '../../repository/search/index.ts';
import type { FhirRepository } from '../../repository/store/fhir-repository.ts';
import { PERSON_SYSTEM } from '../golden/golden-patient.ts';
import { isGolden } from '../linker.ts';
import { getRecord, recordsOfPerson } from '../store/identity-store.ts';

export interface IhePixDeps {
  db: Queryable;
  canonicalBase: string;
  /** The FHIR base the answer's `targetId` references use (the repository's). */
  fhirBaseUrl: string;
  readPatient(ref: string): Promise<Patient | undefined>;
  /** Patients carrying the identifier (`system|value`), as `Patient?identifier=` finds them. */
  findPatients(system: string, value: string): Promise<Patient[]>;
}

/**
 * PIXm `Patient/$ihe-pix` (IHE ITI-83): given one identifier, every identifier the exchange
 * knows for the same person — of each source record linked to it, and the regional person
 * identifier — with a `targetId` for each of those records; `targetSystem` narrows the answer.
 * An identifier no record carries is a 404 OperationOutcome, a malformed one a 400.
 */
export function ihePixOperation(deps: IhePixDeps): OperationHandler {
  return async (req, target) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      throw fail(405, { code: 'not-supported', diagnostics: '$ihe-pix takes GET' });
    }
    if (target.id !== undefined) throw badRequest('$ihe-pix is a type-level operation: Patient/$ihe-pix');
    const sources = req.query.filter(([k]) => k === 'sourceIdentifier').map(([, v]) => v);
    if (sources.length !== 1) {
      throw badRequest('Give exactly one sourceIdentifier=system|value', 'sourceIdentifier');
    }
    const bar = sources[0]!.indexOf('|');
    const system = bar > 0 ? sources[0]!.slice(0, bar) : '';
    const value = bar > 0 ? sources[0]!.slice(bar + 1) : '';
    if (!system || !value) {
      throw badRequest('sourceIdentifier must be system|value, both present', 'sourceIdentifier');
    }
    const targetSystems = new Set(
      req.query
        .filter(([k]) => k === 'targetSystem')
        .flatMap(([, v]) => v.split(','))
        .filter((s) => s.length > 0),
    );

    const found = await deps.findPatients(system, value);
    if (found.length === 0) {
      throw fail(404, {
        code: 'not-found',
        diagnostics: `sourceIdentifier Patient Identifier not found (${system})`,
      });
    }
    const records = new Map<string, Patient>();
    const persons = new Set<string>();
    for (const p of found) {
      if (isGolden(p, deps.canonicalBase)) {
        persons.add(p.id!);
        continue;
      }
      records.set(`Patient/${p.id}`, p);
      const row = await getRecord(deps.db, `Patient/${p.id}`);
      if (row) persons.add(row.personId);
    }
    for (const personId of persons) {
      for (const r of await recordsOfPerson(deps.db, personId)) {
        if (records.has(r.patientRef)) continue;
        const p = await deps.readPatient(r.patientRef);
        if (p) records.set(r.patientRef, p);
      }
    }

    const wanted = (i: Identifier) => targetSystems.size === 0 || (!!i.system && targetSystems.has(i.system));
    const seen = new Set<string>();
    const identifiers: Identifier[] = [];
    const add = (i: Identifier) => {
      const key = `${i.system ?? ''}|${i.value ?? ''}`;
      if (!i.value || seen.has(key) || !wanted(i)) return;
      seen.add(key);
      identifiers.push({
        ...(i.use ? { use: i.use } : {}),
        ...(i.system ? { system: i.system } : {}),
        value: i.value,
      });
    };
    const ids: string[] = [];
    for (const [ref, p] of [...records.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const own = (p.identifier ?? []).filter(wanted);
      own.forEach(add);
      if (targetSystems.size === 0 || own.length > 0) ids.push(ref);
    }
    for (const personId of [...persons].sort()) {
      add({ use: 'official', system: PERSON_SYSTEM(deps.canonicalBase), value: personId });
    }

    const parameter: ParametersParameter[] = [
      ...identifiers.map((i) => ({ name: 'targetIdentifier', valueIdentifier: i })),
      ...ids.map((ref) => ({
        name: 'targetId',
        valueReference: { reference: `${deps.fhirBaseUrl}/${ref}` },
      })),
    ];
    const answer: Parameters = { resourceType: 'Parameters', ...(parameter.length ? { parameter } : {}) };
    return jsonResponse(200, stringifyFhirJson(answer));
  };
}

/**
 * `findPatients` over the gateway's own repository: a token search on `identifier`, with the
 * search syntax's escapes (`\|`, `\,`, `\$`) applied to the value.
 */
export function patientsByIdentifier(repo: FhirRepository): IhePixDeps['findPatients'] {
  return async (system, value) => {
    const escaped = value.replace(/[\\|,$]/g, (c) => `\\${c}`);
    const result = await search(repo.db, repo.model, {
      resourceType: 'Patient',
      params: [
        ['identifier', `${system}|${escaped}`],
        ['_count', '100'],
      ],
      strict: false,
      baseUrl: repo.baseUrl,
    });
    return result.matches.filter((m) => m.json).map((m) => parseFhirJson(m.json!) as Patient);
  };
}
