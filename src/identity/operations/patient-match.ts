import type { Bundle, BundleEntry, Parameters, Patient } from 'fhir/r4';
import type { Queryable } from '../../db/database.ts';
import { stringifyFhirJson } from '../../kernel/fhir-json.ts';
import { badRequest, fail } from '../../kernel/outcomes.ts';
import type { OperationHandler } from '../../repository/router/fhir-router.ts';
import { jsonResponse } from '../../repository/router/respond.ts';
import { blockingKeys } from '../match/blocking.ts';
import { decidePair, type MatchGrade } from '../match/decide.ts';
import { matchRecordOf } from '../match/record.ts';
import type { MatchRules } from '../match/rules.ts';
import { candidatesByKeys } from '../store/identity-store.ts';

export const MATCH_GRADE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/match-grade';
export const GOLDEN_RECORD_EXTENSION = (base: string) => `${base}/StructureDefinition/golden-record`;

export interface PatientMatchDeps {
  db: Queryable;
  rules: MatchRules;
  /** `https://county-hie.org/fhir`: identifier systems and our extension URLs. */
  canonicalBase: string;
  /** The FHIR base the answer's fullUrls use (the repository's). */
  fhirBaseUrl: string;
  readPatient(ref: string): Promise<Patient | undefined>;
}

const DEFAULT_COUNT = 10;
const MAX_COUNT = 100;
const GRADE_RANK: Record<MatchGrade, number> = { certain: 3, probable: 2, possible: 1, 'certainly-not': 0 };

/**
 * The Fellegi–Sunter score as a 0..1 `search.score`. The score is a sum of log2 likelihood
 * ratios, so the logistic in base 2 is the posterior match probability under prior odds that put
 * the review threshold at one half: monotone in the score, near 1 at the link threshold.
 */
export function matchProbability(score: number, rules: Pick<MatchRules, 'thresholds'>): number {
  const p = 1 / (1 + 2 ** -(score - rules.thresholds.review));
  return Math.round(p * 10_000) / 10_000;
}

/**
 * `Patient/$match` (FHIR R4, IHE PDQm ITI-119): the source records that may be the resident the
 * given Patient describes, best first, each with its `search.score`, its match grade and its
 * golden record. Candidates come from the matcher's own blocking keys and are judged by the
 * same rules file as in linking; pairs the rules call different people (`certainly-not`) are
 * never returned. Golden records are not candidates: they are persons, not records.
 */
export function patientMatchOperation(deps: PatientMatchDeps): OperationHandler {
  return async (req, target) => {
    if (req.method !== 'POST') {
      throw fail(405, { code: 'not-supported', diagnostics: '$match takes POST with a Parameters body' });
    }
    if (target.id !== undefined) throw badRequest('$match is a type-level operation: POST Patient/$match');
    const input = readInput(req.body);
    // An id of its own would be excluded as "itself"; the query Patient is no stored record.
    const record = matchRecordOf({ ...input.patient, id: '' }, { base: deps.canonicalBase });
    const keys = blockingKeys(record, deps.rules);
    const candidates = await candidatesByKeys(deps.db, keys, record.ref);
    const judged = candidates
      .map((c) => ({ row: c, decision: decidePair(record, c.match, deps.rules) }))
      .filter((j) => j.decision.outcome !== 'new' && j.decision.grade !== 'certainly-not')
      .filter((j) => !input.onlyCertainMatches || j.decision.grade === 'certain')
      .sort(
        (a, b) =>
          b.decision.score - a.decision.score ||
          GRADE_RANK[b.decision.grade] - GRADE_RANK[a.decision.grade] ||
          a.row.patientRef.localeCompare(b.row.patientRef),
      )
      .slice(0, input.count);

    const entries: BundleEntry[] = [];
    for (const j of judged) {
      const patient = await deps.readPatient(j.row.patientRef);
      if (!patient) continue;
      entries.push({
        fullUrl: `${deps.fhirBaseUrl}/${j.row.patientRef}`,
        resource: patient,
        search: {
          mode: 'match',
          score: matchProbability(j.decision.score, deps.rules),
          extension: [
            { url: MATCH_GRADE_EXTENSION, valueCode: j.decision.grade },
            {
              url: GOLDEN_RECORD_EXTENSION(deps.canonicalBase),
              valueReference: { reference: `Patient/${j.row.personId}` },
            },
          ],
        },
      });
    }
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: entries.length,
      entry: entries,
    };
    return jsonResponse(200, stringifyFhirJson(bundle));
  };
}

interface MatchInput {
  patient: Patient;
  onlyCertainMatches: boolean;
  count: number;
}

function readInput(body: unknown): MatchInput {
  const params = body as Parameters | undefined;
  if (!params || typeof params !== 'object' || params.resourceType !== 'Parameters') {
    throw badRequest('$match takes a Parameters resource with a "resource" parameter (a Patient)');
  }
  const named = (name: string) => (params.parameter ?? []).filter((p) => p.name === name);
  const resources = named('resource');
  const patient = resources[0]?.resource;
  if (resources.length !== 1 || patient?.resourceType !== 'Patient') {
    throw badRequest(
      '$match needs exactly one "resource" parameter holding a Patient',
      'Parameters.parameter',
    );
  }
  const only = named('onlyCertainMatches')[0];
  if (only && typeof only.valueBoolean !== 'boolean') {
    throw badRequest('onlyCertainMatches must be a valueBoolean', 'Parameters.parameter');
  }
  const countParam = named('count')[0];
  let count = DEFAULT_COUNT;
  if (countParam) {
    // The body may carry LosslessNumbers: read the number's text.
    const text = String(countParam.valueInteger ?? countParam.valuePositiveInt ?? '');
    if (!/^\d{1,6}$/.test(text) || Number(text) < 1) {
      throw badRequest('count must be a positive integer', 'Parameters.parameter');
    }
    count = Math.min(Number(text), MAX_COUNT);
  }
  return { patient: patient as Patient, onlyCertainMatches: only?.valueBoolean === true, count };
}
