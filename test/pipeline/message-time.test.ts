import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAPPINGS_DIR } from '../../src/mapping/engine/index.ts';
import { evaluateHl7 } from '../../src/pipeline/hl7v2-evaluate.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { BASE, INSTITUTION } from '../mapping/hl7v2-files/support.ts';

// MSH-7 is required by HL7 but is the ordering key's last resort (EVN first): a bad one beside a
// good EVN is told to the sender as a warning on the accepted message, not passed over.
const model = loadFhirModel();
const CPH = { ...INSTITUTION, id: 'county-peoples-hospital', facilityCodes: ['CPH', 'CPH-LIS'] };
const adt = readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples', 'adt-a01.hl7'), 'utf8');
const GOOD_TIME = '|20261105083000|';
const evaluate = (text: string) => evaluateHl7(text, CPH, 'arch-msh7', { model, canonicalBase: BASE });
const msh7Warnings = (text: string) =>
  (evaluate(text).warnings ?? []).filter((w) => w.location?.[0] === 'MSH^1^7');

describe('MSH-7, the date/time of the message', () => {
  it('accepts a malformed MSH-7 beside a good EVN, with a warning at MSH-7 (102)', () => {
    expect(adt).toContain(GOOD_TIME);
    const text = adt.replace(GOOD_TIME, '|2026110108300099999|');
    const e = evaluate(text);
    expect(e.failure).toBeUndefined();
    expect(e.mapped?.eventTime).toBe('2026-11-05T08:00:00+08:00');
    expect(msh7Warnings(text)).toEqual([
      expect.objectContaining({
        severity: 'warning',
        expression: ['MSH-7'],
        diagnostics: expect.stringContaining('"2026110108300099999" is not a valid HL7 date/time'),
        details: { coding: [expect.objectContaining({ code: '102' })] },
      }),
    ]);
  });

  it('warns of an empty MSH-7 as a required field missing (101)', () => {
    const [w] = msh7Warnings(adt.replace(GOOD_TIME, '||'));
    expect(w?.details?.coding?.[0]?.code).toBe('101');
  });

  it('says nothing of a good MSH-7, with or without its offset', () => {
    expect(msh7Warnings(adt)).toEqual([]);
    expect(msh7Warnings(adt.replace(GOOD_TIME, '|20261105083000+0800|'))).toEqual([]);
  });

  it('refuses a malformed MSH-7 that is the only time the message has, once, as an error', () => {
    const noEvn = adt
      .split(/\r\n|\r|\n/)
      .filter((s) => !s.startsWith('EVN|'))
      .join('\r')
      .replace(GOOD_TIME, '|20261301|');
    const e = evaluate(noEvn);
    expect(e.failure?.kind).toBe('error');
    // Named by the field that held it (the ordering key falls back to MSH-7 without EVN).
    expect(e.failure?.problems).toEqual([
      expect.objectContaining({
        expression: 'MSH-7',
        hl7: expect.objectContaining({ segment: 'MSH', field: 7, code: '102' }),
      }),
    ]);
    expect(e.warnings).toBeUndefined();
  });
});
