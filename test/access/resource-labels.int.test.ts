import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isSensitive, sourceInstitution } from '../../src/access/resource-labels.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

type Json = Record<string, any>;

const BASE = 'https://county-hie.org/fhir';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

/**
 * The policy reads two facts from a resource twice: in SQL (`hie_source_institution`,
 * `hie_is_sensitive`, migration 008: searches, reads) and in TypeScript (resource-labels.ts:
 * `$summary`, `$everything`). A disagreement would let one route show what another hides, so
 * both are asked the same table of cases, each with the answer it must give.
 */
describe('resource labels: the SQL functions and resource-labels.ts agree', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(inject('pgServers')[0]!);
  });
  afterAll(async () => {
    await t?.drop();
  });

  const sources: [string, Json, string | undefined][] = [
    ['an archive fragment', { meta: { source: `${BASE}/institution/township-a#01a2-77` } }, 'township-a'],
    ['no fragment', { meta: { source: `${BASE}/institution/county-hospital` } }, 'county-hospital'],
    ['another base', { meta: { source: 'https://other.example/fhir/institution/village-b#9' } }, 'village-b'],
    ['a path after the id', { meta: { source: `${BASE}/institution/township-a/extra` } }, undefined],
    ['capitals (not an institution id)', { meta: { source: `${BASE}/institution/Township-A#1` } }, undefined],
    [
      'an underscore (not an institution id)',
      { meta: { source: `${BASE}/institution/town_a#1` } },
      undefined,
    ],
    ['some other source', { meta: { source: 'urn:uuid:5c1b0a7e-1111-4d2c-9f00-000000000001' } }, undefined],
    ['a number', { meta: { source: 42 } }, undefined],
    ['no meta.source', { meta: {} }, undefined],
    ['no meta', {}, undefined],
  ];

  const labels: [string, Json, boolean][] = [
    ['PSY', { meta: { security: [{ system: ACT, code: 'PSY' }] } }, true],
    ['HIV', { meta: { security: [{ system: ACT, code: 'HIV' }] } }, true],
    ['SEX', { meta: { security: [{ system: ACT, code: 'SEX' }] } }, true],
    ['ETH', { meta: { security: [{ system: ACT, code: 'ETH' }] } }, true],
    ['restricted (R)', { meta: { security: [{ system: CONF, code: 'R' }] } }, true],
    ['very restricted (V)', { meta: { security: [{ system: CONF, code: 'V' }] } }, true],
    ['normal (N)', { meta: { security: [{ system: CONF, code: 'N' }] } }, false],
    [
      'a label after an ordinary one',
      {
        meta: {
          security: [
            { system: CONF, code: 'N' },
            { system: ACT, code: 'HIV' },
          ],
        },
      },
      true,
    ],
    ['PSY in another code system', { meta: { security: [{ system: CONF, code: 'PSY' }] } }, false],
    ['R in the ActCode system', { meta: { security: [{ system: ACT, code: 'R' }] } }, false],
    ['lower case', { meta: { security: [{ system: ACT, code: 'psy' }] } }, false],
    ['no system', { meta: { security: [{ code: 'PSY' }] } }, false],
    ['another ActCode (TBOO)', { meta: { security: [{ system: ACT, code: 'TBOO' }] } }, false],
    ['an empty list', { meta: { security: [] } }, false],
    ['no meta', {}, false],
    // Not valid FHIR (security is a list); the two sides must still agree on it.
    ['a single object instead of a list', { meta: { security: { system: ACT, code: 'PSY' } } }, true],
    ['a label only in meta.tag', { meta: { tag: [{ system: ACT, code: 'PSY' }] } }, false],
  ];

  const sql = async (fn: 'hie_source_institution' | 'hie_is_sensitive', resource: Json) =>
    (await t.db.query<{ v: unknown }>(`SELECT ${fn}($1::json) AS v`, [JSON.stringify(resource)])).rows[0]!.v;

  it.each(sources)('source institution: %s', async (_name, meta, expected) => {
    const resource = { resourceType: 'Observation', ...meta };
    expect(sourceInstitution(resource)).toBe(expected);
    expect((await sql('hie_source_institution', resource)) ?? undefined).toBe(expected);
  });

  it.each(labels)('sensitive: %s', async (_name, meta, expected) => {
    const resource = { resourceType: 'Condition', ...meta };
    expect(isSensitive(resource)).toBe(expected);
    expect(await sql('hie_is_sensitive', resource)).toBe(expected);
  });
});
