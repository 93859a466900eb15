import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Parameters, ParametersParameter } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { translateOperation } from '../../src/admin/translate-operation.ts';
import { OperationOutcomeError } from '../../src/kernel/outcomes.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { createLiveMappings, type LiveMappings } from '../../src/mapping/live/index.ts';
import type { OperationHandler } from '../../src/repository/router/fhir-router.ts';
import { copyMappings } from '../mapping/live/mappings-copy.ts';

const DIAGNOSIS = 'https://county-hie.org/fhir/ConceptMap/village-diagnosis';
const VITALS = 'https://county-hie.org/fhir/ConceptMap/township-vitals';
const LOCAL = 'https://county-hie.org/fhir/CodeSystem/local/dongcun-village-clinic/diagnosis';

let live: LiveMappings;
let copy: Awaited<ReturnType<typeof copyMappings>>;
let translate: OperationHandler;

beforeAll(async () => {
  copy = await copyMappings();
  live = await createLiveMappings(copy.dir, { logger: silentLogger(), watch: 'off' });
  translate = translateOperation(live);
});
afterAll(async () => {
  await live.close();
  await copy.remove();
});

/** The router's request, as the Express adapter builds it from `GET /fhir/ConceptMap/$translate?…`. */
async function call(
  method: 'GET' | 'POST',
  query: [string, string][],
  body?: unknown,
  id?: string,
): Promise<{ status: number; parameters: Parameters }> {
  const res = await translate(
    {
      method,
      path: id ? ['ConceptMap', id, '$translate'] : ['ConceptMap', '$translate'],
      query,
      headers: {},
      ...(body !== undefined ? { body } : {}),
      requestUrl: 'http://localhost/fhir/ConceptMap/$translate',
    },
    { resourceType: 'ConceptMap', ...(id ? { id } : {}) },
  );
  return { status: res.status, parameters: JSON.parse(res.body!) };
}

const param = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);
const matches = (p: Parameters) => (p.parameter ?? []).filter((x) => x.name === 'match');
const part = (m: ParametersParameter, name: string) => m.part?.find((x) => x.name === name);

describe('ConceptMap/$translate', () => {
  it('translates a code by the map url (GET): result true and the target coding', async () => {
    const { status, parameters } = await call('GET', [
      ['url', DIAGNOSIS],
      ['system', LOCAL],
      ['code', 'GXY'],
    ]);
    expect(status).toBe(200);
    expect(parameters.resourceType).toBe('Parameters');
    expect(param(parameters, 'result')?.valueBoolean).toBe(true);
    const [match] = matches(parameters);
    expect(part(match!, 'equivalence')?.valueCode).toBe('equivalent');
    expect(part(match!, 'concept')?.valueCoding).toEqual({
      system: 'http://hl7.org/fhir/sid/icd-10',
      code: 'I10',
      display: 'Essential (primary) hypertension',
    });
    expect(part(match!, 'source')?.valueUri).toBe(DIAGNOSIS);
  });

  it('answers result false with a message for a code the map does not know', async () => {
    const { status, parameters } = await call('GET', [
      ['url', DIAGNOSIS],
      ['code', 'XYZ99'],
    ]);
    expect(status).toBe(200);
    expect(param(parameters, 'result')?.valueBoolean).toBe(false);
    expect(param(parameters, 'message')?.valueString).toMatch(/No translation of XYZ99/);
    expect(matches(parameters)).toHaveLength(0);
  });

  it('takes a Parameters body (POST) with a coding', async () => {
    const { parameters } = await call('POST', [], {
      resourceType: 'Parameters',
      parameter: [
        { name: 'url', valueUri: VITALS },
        { name: 'coding', valueCoding: { system: 'urn:local:vitals', code: 'TZ' } },
        { name: 'targetsystem', valueUri: 'http://loinc.org' },
      ],
    });
    expect(param(parameters, 'result')?.valueBoolean).toBe(true);
    expect(part(matches(parameters)[0]!, 'concept')?.valueCoding).toMatchObject({
      system: 'http://loinc.org',
      code: '29463-7',
    });
  });

  it('reports the equivalence the map states, over every loaded map when no url is given', async () => {
    const { parameters } = await call('GET', [['code', 'GXB']]);
    expect(param(parameters, 'result')?.valueBoolean).toBe(true);
    expect(part(matches(parameters)[0]!, 'equivalence')?.valueCode).toBe('wider');
  });

  it('translates at instance level (ConceptMap/{id}/$translate)', async () => {
    const { parameters } = await call('GET', [['code', 'KFXT']], undefined, 'township-vitals');
    expect(part(matches(parameters)[0]!, 'concept')?.valueCoding?.code).toBe('1558-6');
  });

  it('finds nothing in another target system', async () => {
    const { parameters } = await call('GET', [
      ['url', DIAGNOSIS],
      ['code', 'GXY'],
      ['targetsystem', 'http://loinc.org'],
    ]);
    expect(param(parameters, 'result')?.valueBoolean).toBe(false);
  });

  it('refuses an unknown map (404), a request without a code (400) and reverse (400)', async () => {
    const status = (p: Promise<unknown>) =>
      p.then(
        () => 200,
        (e) => (e instanceof OperationOutcomeError ? e.status : 500),
      );
    expect(
      await status(
        call('GET', [
          ['url', 'http://example.org/nope'],
          ['code', 'A'],
        ]),
      ),
    ).toBe(404);
    expect(await status(call('GET', [['code', 'A']], undefined, 'nope'))).toBe(404);
    expect(await status(call('GET', [['url', DIAGNOSIS]]))).toBe(400);
    expect(
      await status(
        call('GET', [
          ['url', DIAGNOSIS],
          ['code', 'GXY'],
          ['reverse', 'true'],
        ]),
      ),
    ).toBe(400);
    expect(await status(call('POST', [], { resourceType: 'Patient' }))).toBe(400);
  });

  it('answers from the ConceptMaps as reloaded', async () => {
    const file = path.join(copy.dir, 'conceptmaps/village-diagnosis.json');
    const cm = JSON.parse(await readFile(file, 'utf8'));
    cm.group[0].element.push({
      code: 'XYZ99',
      target: [{ code: 'R42', display: 'Dizziness and giddiness', equivalence: 'equivalent' }],
    });
    await writeFile(file, JSON.stringify(cm, null, 2));
    expect(await live.reload()).toBe('reloaded');
    const { parameters } = await call('GET', [
      ['url', DIAGNOSIS],
      ['code', 'XYZ99'],
    ]);
    expect(part(matches(parameters)[0]!, 'concept')?.valueCoding?.code).toBe('R42');
  });
});
