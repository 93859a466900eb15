import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/kernel/logger.ts';
import { DEFAULT_MAPPINGS_DIR, mappingSet } from '../../../src/mapping/engine/index.ts';
import { createLiveMappings, type LiveMappings } from '../../../src/mapping/live/index.ts';
import { evaluateHl7 } from '../../../src/pipeline/hl7v2-evaluate.ts';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { BASE, INSTITUTION } from './support.ts';

// The HL7 stage: a message goes to the mapping file selected for it; a type or event no file
// handles is refused with AR.
const CPH = { ...INSTITUTION, id: 'county-peoples-hospital', facilityCodes: ['CPH', 'CPH-LIS'] };
const model = loadFhirModel();
let live: LiveMappings;
beforeAll(async () => {
  live = await createLiveMappings(DEFAULT_MAPPINGS_DIR, { logger: silentLogger(), watch: 'off' });
});
afterAll(async () => {
  await live?.close();
});

const sample = (name: string) => readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples', name), 'utf8');
const evaluate = (text: string, mappings: Parameters<typeof evaluateHl7>[3]['mappings'] = live) =>
  evaluateHl7(text, CPH, 'arch-route-1', { model, canonicalBase: BASE, ...(mappings ? { mappings } : {}) });
const tags = (e: ReturnType<typeof evaluate>) =>
  new Set((e.mapped?.bundle.entry ?? []).map((x) => x.resource?.meta?.tag?.[0]?.code));

describe('evaluateHl7 routes by the mapping files', () => {
  it('orders and immunizations go through their files, validated; each use is counted', () => {
    const before = live.usage('vxu-v04').used;
    for (const [file, tag] of [
      ['orm-o01.hl7', 'orm-o01@1'],
      ['oml-o21.hl7', 'oml-o21@1'],
      ['vxu-v04.hl7', 'vxu-v04@2'],
    ] as const) {
      const e = evaluate(sample(file));
      expect(e.failure, file).toBeUndefined();
      expect(tags(e)).toEqual(new Set([tag]));
    }
    expect(live.usage('vxu-v04').used).toBe(before + 1);
  });

  it('ADT goes through mappings/hl7v2/adt.yaml', () => {
    const adt =
      'MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A01|M1|P|2.5.1\rEVN|A01|20261101082500\rPID|1||MRN1^^^CPH^MR||王^秀英||19561231|F\r';
    const e = evaluate(adt);
    expect(e.failure).toBeUndefined();
    expect(tags(e)).toEqual(new Set(['adt@1']));
  });

  it('a type no file handles is AR 200; an event of a handled type AR 201 naming the handled ones', () => {
    const withoutOrders = mappingSet(
      live.mappings.filter((m) => m.id !== 'orm-o01'),
      new Map(live.conceptMaps),
    );
    const e = evaluate(sample('orm-o01.hl7'), withoutOrders);
    expect(e.failure?.kind).toBe('reject');
    expect(e.failure?.problems[0]).toMatchObject({
      text: expect.stringContaining('"ORM" is not supported'),
      hl7: { segment: 'MSH', field: 9, component: 1, code: '200' },
    });
    const a29 =
      'MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A29|M2|P|2.5.1\rEVN|A29|20261101082500\rPID|1||MRN1^^^CPH^MR||王^秀英||19561231|F\r';
    const r = evaluate(a29);
    expect(r.failure?.kind).toBe('reject');
    expect(r.failure?.problems[0]).toMatchObject({
      text: expect.stringMatching(/ADT\^A29 is not supported \(supported ADT events: A01, .*A40, A47\)/),
      hl7: { field: 9, component: 2, code: '201' },
    });
  });

  it('a message the mapping cannot handle fails with the reason and no Bundle at all', () => {
    const text = sample('vxu-v04.hl7').replace('||RE|A\r', '||XX|A\r');
    const e = evaluate(text);
    expect(e.mapped).toBeUndefined();
    expect(e.failure?.kind).toBe('error');
    expect(e.failure?.outcome.issue).toEqual([
      expect.objectContaining({
        severity: 'error',
        diagnostics: expect.stringContaining('immunization.status: "XX" is not one of CP, PA, RE, NA'),
      }),
    ]);
  });
});
