import { describe, expect, it } from 'vitest';
import { OperationOutcomeError } from '../../src/kernel/outcomes.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import type { FhirRequest } from '../../src/repository/router/fhir-request.ts';
import {
  VALIDATE_OPERATION_DEFINITION,
  createProfileRegistry,
  validateCapabilityOperations,
  validateOperation,
} from '../../src/validate/index.ts';
import { TEST_PROFILE_URL, birthDateRequiredProfile } from './test-profile.ts';

const model = loadFhirModel();
const handler = validateOperation(model, {
  registry: createProfileRegistry([{ sd: birthDateRequiredProfile() }]),
});

function request(body: unknown, query: [string, string][] = [], method = 'POST'): FhirRequest {
  return { method, path: [], query, headers: {}, body, requestUrl: 'http://localhost/fhir/$validate' };
}

async function call(
  body: unknown,
  target: { resourceType?: string; id?: string },
  query?: [string, string][],
) {
  const res = await handler(request(body, query), target);
  return { status: res.status, outcome: JSON.parse(res.body ?? 'null') };
}

async function refusal(p: Promise<unknown>): Promise<OperationOutcomeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OperationOutcomeError);
  return err as OperationOutcomeError;
}

const errorsOf = (o: { issue: { severity: string; expression?: string[] }[] }) =>
  o.issue.filter((i) => i.severity === 'error');
const good = { resourceType: 'Patient', gender: 'female', birthDate: '1956-12-31' };

describe('$validate', () => {
  it('a valid resource: 200 and an OperationOutcome without errors', async () => {
    const r = await call(good, { resourceType: 'Patient' });
    expect(r.status).toBe(200);
    expect(r.outcome.resourceType).toBe('OperationOutcome');
    expect(errorsOf(r.outcome)).toEqual([]);
  });

  it('an invalid resource: still 200, the errors in the outcome with expressions', async () => {
    const r = await call(
      { resourceType: 'Patient', gender: 'robot', birthDate: '1956-02-30' },
      { resourceType: 'Patient' },
    );
    expect(r.status).toBe(200);
    expect(errorsOf(r.outcome).map((i: { expression?: string[] }) => i.expression)).toEqual([
      ['Patient.gender'],
      ['Patient.birthDate'],
    ]);
  });

  it('the Parameters form: resource and profile parameters', async () => {
    const params = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: { resourceType: 'Patient', gender: 'male' } },
        { name: 'profile', valueUri: TEST_PROFILE_URL },
      ],
    };
    const r = await call(params, { resourceType: 'Patient' });
    expect(r.status).toBe(200);
    expect(errorsOf(r.outcome)).toEqual([expect.objectContaining({ expression: ['Patient.birthDate'] })]);
  });

  it('the profile may also come in the query; an unknown one is information', async () => {
    const r = await call(good, {}, [['profile', 'https://example.org/StructureDefinition/x']]);
    expect(r.status).toBe(200);
    expect(r.outcome.issue).toEqual([
      expect.objectContaining({ severity: 'information', diagnostics: expect.stringContaining('not known') }),
    ]);
  });

  it('at system level any type is validated', async () => {
    const r = await call({ resourceType: 'Observation', status: 'bogus', code: { text: 'x' } }, {});
    expect(errorsOf(r.outcome)).toEqual([expect.objectContaining({ expression: ['Observation.status'] })]);
  });

  it('a body of another type than the URL: 400', async () => {
    const err = await refusal(
      call(
        { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
        { resourceType: 'Patient' },
      ),
    );
    expect(err.status).toBe(400);
    expect(err.outcome.issue[0]?.diagnostics).toContain('the URL names Patient');
  });

  it('a Parameters whose resource is of another type than the URL: 400', async () => {
    const params = {
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: { resourceType: 'Observation' } }],
    };
    expect((await refusal(call(params, { resourceType: 'Patient' }))).status).toBe(400);
  });

  it('nothing to validate: 400 (no body, an array, a Parameters without resource)', async () => {
    expect((await refusal(call(undefined, {}))).status).toBe(400);
    expect((await refusal(call([good], {}))).status).toBe(400);
    expect(
      (await refusal(call({ resourceType: 'Parameters', parameter: [] }, { resourceType: 'Patient' })))
        .status,
    ).toBe(400);
  });

  it('at Parameters/$validate a Parameters without a resource parameter is itself the resource', async () => {
    const r = await call(
      { resourceType: 'Parameters', parameter: [{ name: 'x', valueString: 'y' }] },
      { resourceType: 'Parameters' },
    );
    expect(r.status).toBe(200);
    expect(errorsOf(r.outcome)).toEqual([]);
  });

  it('an instance-level call with a different id in the body: 400', async () => {
    expect((await refusal(call({ ...good, id: 'b' }, { resourceType: 'Patient', id: 'a' }))).status).toBe(
      400,
    );
    expect((await call({ ...good, id: 'a' }, { resourceType: 'Patient', id: 'a' })).status).toBe(200);
  });

  it('GET is refused with 405', async () => {
    const err = await refusal(handler(request(undefined, [], 'GET'), {}));
    expect(err.status).toBe(405);
  });

  it('declares itself for the CapabilityStatement: system level and per type', () => {
    const ops = validateCapabilityOperations(['Patient', 'Observation']);
    expect(ops).toEqual([
      { name: 'validate', definition: VALIDATE_OPERATION_DEFINITION },
      { name: 'validate', definition: VALIDATE_OPERATION_DEFINITION, resourceType: 'Observation' },
      { name: 'validate', definition: VALIDATE_OPERATION_DEFINITION, resourceType: 'Patient' },
    ]);
  });
});

describe('$validate through the FhirRouter (the registration build-app.ts makes)', async () => {
  const { FhirRouter } = await import('../../src/repository/router/fhir-router.ts');
  // Only what an operation route touches: the type check of the URL.
  const repo = { assertType: (t: string) => void model.isResourceType(t) };
  const router = new FhirRouter({
    repo: repo as never,
    bundles: {} as never,
    capabilityStatement: () => '{}',
    operations: new Map([['$validate', handler]]),
  });
  const seen: [string | undefined, string][] = [];
  const authorize = (t: string | undefined, i: string) => void seen.push([t, i]);

  it('answers POST /fhir/Patient/$validate and POST /fhir/$validate, authorised as an operation', async () => {
    const typed = await router.handle({ ...request(good), path: ['Patient', '$validate'] }, authorize);
    const system = await router.handle({ ...request(good), path: ['$validate'] }, authorize);
    expect([typed.status, system.status]).toEqual([200, 200]);
    expect(seen).toEqual([
      ['Patient', 'operation'],
      [undefined, 'operation'],
    ]);
  });
});

describe('$validate with the shipped profiles', () => {
  const shipped = validateOperation(model);

  it('enforces the region profile of the type, unclaimed: a Practitioner needs a name', async () => {
    const res = await shipped(request({ resourceType: 'Practitioner' }), { resourceType: 'Practitioner' });
    const outcome = JSON.parse(res.body ?? 'null');
    expect(res.status).toBe(200);
    const errors = errorsOf(outcome) as { expression?: string[]; diagnostics?: string }[];
    expect(errors.map((i) => i.expression)).toEqual([['Practitioner.name']]);
    expect(errors[0]!.diagnostics).toContain('hie-practitioner');
    const named = await shipped(request({ resourceType: 'Practitioner', name: [{ text: '李医生' }] }), {
      resourceType: 'Practitioner',
    });
    expect(errorsOf(JSON.parse(named.body ?? 'null'))).toEqual([]);
  });
});
