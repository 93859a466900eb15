import type { Identifier, OperationOutcomeIssue, Parameters, ParametersParameter, Patient } from 'fhir/r4';
import type { TokenVerifier } from '../../auth/verify-token.ts';
import { stringifyFhirJson } from '../../kernel/fhir-json.ts';
import { badRequest, fail, forbidden, notFound, outcome, unauthorized } from '../../kernel/outcomes.ts';
import type { OperationHandler } from '../../repository/router/fhir-router.ts';
import type { FhirRequest } from '../../repository/router/fhir-request.ts';
import { jsonResponse } from '../../repository/router/respond.ts';
import { isGolden } from '../linker.ts';
import type { MergeReport, PatientMerger, UnmergeReport } from '../merge/patient-merge.ts';

export const MERGE_OPERATION_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Patient-merge';
export const UNMERGE_OPERATION_DEFINITION = (base: string) => `${base}/OperationDefinition/Patient-unmerge`;

export interface MergeOperationDeps {
  merger: PatientMerger;
  canonicalBase: string;
  /** The FHIR base absolute references use (the repository's). */
  fhirBaseUrl: string;
  /** Checks the caller's bearer token; without one the operations refuse everyone. */
  verifier?: TokenVerifier;
  /** Patients carrying the identifier, as `Patient?identifier=system|value` finds them. */
  findPatients(system: string, value: string): Promise<Patient[]>;
}

interface Caller {
  by: string;
  /** The pipeline's worker: it may only finish a merge the sender declared (ADT A40). */
  worker: boolean;
}

/**
 * Administrators only for now (the worker too, for completing ADT A40 merges). The FHIR router
 * hands operations no token, so the bearer token is verified here again with the app's verifier.
 */
async function callerOf(
  req: FhirRequest,
  verifier: TokenVerifier | undefined,
  what: string,
): Promise<Caller> {
  if (!verifier) throw forbidden(`${what} is not enabled on this server (no token verifier configured)`);
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers['authorization'] ?? '')?.[1];
  if (!bearer) throw unauthorized('A bearer token is required', 'Bearer realm="county-hie"');
  const auth = await verifier.verify(bearer);
  const by = auth.fhirUser ?? auth.subject;
  if (auth.roles.has('admin')) return { by, worker: false };
  if (auth.roles.has('worker')) return { by, worker: true };
  throw forbidden(`${what} is for administrators (a token with the admin role)`);
}

function parametersOf(body: unknown, what: string): Parameters {
  const params = body as Parameters | undefined;
  if (!params || typeof params !== 'object' || params.resourceType !== 'Parameters') {
    throw badRequest(`${what} takes a Parameters resource`);
  }
  return params;
}

const named = (p: Parameters, name: string) => (p.parameter ?? []).filter((x) => x.name === name);

function previewOf(p: Parameters): boolean {
  const given = named(p, 'preview');
  if (given.length > 1) throw badRequest('preview is given more than once', 'preview');
  if (given[0] && typeof given[0].valueBoolean !== 'boolean') {
    throw badRequest('preview must be a valueBoolean', 'preview');
  }
  return given[0]?.valueBoolean === true;
}

/**
 * One record from `{role}-patient` (a reference) and/or `{role}-patient-identifier`s: every
 * identifier given must resolve to the one same record (R5: a lookup that is not one record is
 * refused), and agree with the reference when both are given.
 */
async function recordOf(p: Parameters, role: 'source' | 'target', deps: MergeOperationDeps): Promise<string> {
  const refs = named(p, `${role}-patient`);
  if (refs.length > 1) throw badRequest(`${role}-patient is given more than once`, `${role}-patient`);
  let ref: string | undefined;
  if (refs[0]) {
    const given = refs[0].valueReference?.reference ?? '';
    const absolute = `${deps.fhirBaseUrl.replace(/\/$/, '')}/`;
    const local = given.startsWith(absolute) ? given.slice(absolute.length) : given;
    if (!/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(local)) {
      throw badRequest(`${role}-patient must be a valueReference "Patient/{id}"`, `${role}-patient`);
    }
    ref = local;
  }
  const identifiers = named(p, `${role}-patient-identifier`).map((x) => x.valueIdentifier);
  if (identifiers.some((i) => !i?.system || !i.value)) {
    throw badRequest(`${role}-patient-identifier must be a valueIdentifier with system and value`);
  }
  if (!ref && identifiers.length === 0) {
    throw badRequest(`Give ${role}-patient or ${role}-patient-identifier`, `${role}-patient`);
  }
  if (identifiers.length === 0) return ref!;
  let found: Set<string> | undefined;
  for (const i of identifiers as Identifier[]) {
    const refsOf = (await deps.findPatients(i.system!, i.value!))
      .filter((x) => !isGolden(x, deps.canonicalBase))
      .map((x) => `Patient/${x.id}`);
    found = new Set(found ? refsOf.filter((r) => found!.has(r)) : refsOf);
  }
  const matches = [...found!];
  if (matches.length === 0) throw notFound(`No record carries every ${role}-patient-identifier given`);
  if (matches.length > 1) {
    throw fail(422, {
      code: 'multiple-matches',
      diagnostics: `The ${role}-patient-identifier(s) name ${matches.length} records (${matches.join(', ')}): give one record`,
    });
  }
  if (ref && ref !== matches[0]) {
    throw fail(422, {
      code: 'business-rule',
      diagnostics: `${role}-patient ${ref} does not carry the ${role}-patient-identifier(s), which name ${matches[0]}`,
    });
  }
  return matches[0]!;
}

const info = (diagnostics: string, severity: OperationOutcomeIssue['severity'] = 'information') => ({
  severity,
  code: 'informational' as const,
  diagnostics,
});

function answer(input: Parameters, issues: OperationOutcomeIssue[], out: ParametersParameter[]) {
  const parameters: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'input', resource: input },
      { name: 'outcome', resource: outcome(...issues) },
      ...out,
    ],
  };
  return jsonResponse(200, stringifyFhirJson(parameters));
}

function mergeIssues(r: MergeReport, source: string, target: string): OperationOutcomeIssue[] {
  const would = r.preview ? 'would be' : 'was';
  if (r.alreadyMerged) return [info(`${source} is already merged into ${target}: nothing changed`)];
  return [
    ...(r.preview ? [info('Preview: nothing was changed')] : []),
    info(
      `${source} ${would} set inactive with link replaced-by ${target}; ${target} gets link replaces ${source}`,
    ),
    info(
      r.repointed.length > 0
        ? `${r.repointed.length} resource(s) of ${r.institution} ${r.preview ? 'would be' : 'were'} re-pointed to ${target}: ${r.repointed.join(', ')}`
        : `No resource of ${r.institution} references ${source}`,
    ),
    ...(r.leftAlone.length > 0
      ? [
          info(
            `${r.leftAlone.length} resource(s) of other institutions reference ${source} and are left as they are: ${r.leftAlone.join(', ')}`,
            'warning',
          ),
        ]
      : []),
    ...(r.persons.length > 0
      ? [
          info(
            `${source} ${r.preview ? 'would leave' : 'left'} its person; golden record(s) recomputed: ${r.persons.map((p) => `Patient/${p}`).join(', ')}`,
          ),
        ]
      : []),
    info(
      "The source's identifiers are not copied to the target: each MRN stays on its own record, " +
        'which the pipeline keys its conditional writes on',
    ),
  ];
}

function unmergeIssues(r: UnmergeReport, source: string): OperationOutcomeIssue[] {
  return [
    ...(r.preview ? [info('Preview: nothing was changed')] : []),
    info(`${source} ${r.preview ? 'would be' : 'was'} restored and its merge undone`),
    info(
      r.restored.length > 0
        ? `References put back to ${source}: ${r.restored.join(', ')}`
        : 'The merge re-pointed no references',
    ),
    ...r.skipped.map((s) => info(`Not put back: ${s}`, 'warning')),
    ...(r.persons.length > 0
      ? [info(`Golden record(s) recomputed: ${r.persons.map((p) => `Patient/${p}`).join(', ')}`)]
      : []),
  ];
}

function typeLevelPost(req: FhirRequest, target: { id?: string }, name: string): void {
  if (req.method !== 'POST') {
    throw fail(405, { code: 'not-supported', diagnostics: `${name} takes POST with a Parameters body` });
  }
  if (target.id !== undefined) throw badRequest(`${name} is a type-level operation: POST Patient/${name}`);
}

/** R5 `Patient/$merge` on R4: two records of one institution, the source merged into the target. */
export function patientMergeOperation(deps: MergeOperationDeps): OperationHandler {
  return async (req, target) => {
    typeLevelPost(req, target, '$merge');
    const caller = await callerOf(req, deps.verifier, '$merge');
    const input = parametersOf(req.body, '$merge');
    const source = await recordOf(input, 'source', deps);
    const survivor = await recordOf(input, 'target', deps);
    const results = named(input, 'result-patient');
    if (results.length > 1) throw badRequest('result-patient is given more than once', 'result-patient');
    const resultPatient = results[0]?.resource as Patient | undefined;
    if (results[0] && resultPatient?.resourceType !== 'Patient') {
      throw badRequest('result-patient must hold a Patient', 'result-patient');
    }
    const report = await deps.merger.merge({
      source,
      target: survivor,
      ...(resultPatient ? { resultPatient } : {}),
      preview: previewOf(input),
      by: caller.by,
      origin: caller.worker ? 'adt-a40' : 'operation',
      completionOnly: caller.worker,
    });
    return answer(input, mergeIssues(report, source, survivor), [
      { name: 'result', resource: report.target },
    ]);
  };
}

/**
 * `Patient/$unmerge` (this exchange's own): undoes the recorded merge of `source-patient` — both
 * records as they were, the re-pointed references back, the source's identity link restored.
 * Answers `input`, `outcome`, `result` (the target) and `source` (the restored source).
 */
export function patientUnmergeOperation(deps: MergeOperationDeps): OperationHandler {
  return async (req, target) => {
    typeLevelPost(req, target, '$unmerge');
    const caller = await callerOf(req, deps.verifier, '$unmerge');
    if (caller.worker) throw forbidden('$unmerge is for administrators (a token with the admin role)');
    const input = parametersOf(req.body, '$unmerge');
    const source = await recordOf(input, 'source', deps);
    const report = await deps.merger.unmerge({ source, by: caller.by, preview: previewOf(input) });
    return answer(input, unmergeIssues(report, source), [
      { name: 'result', resource: report.target },
      { name: 'source', resource: report.source },
    ]);
  };
}
