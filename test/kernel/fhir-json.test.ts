import { describe, expect, it } from 'vitest';
import { parseFhirJson, stringifyFhirJson, toPlainNumbers } from '../../src/kernel/fhir-json.ts';
import { OperationOutcomeError } from '../../src/kernel/outcomes.ts';

function rejection(text: string): OperationOutcomeError {
  try {
    parseFhirJson(text);
  } catch (e) {
    if (e instanceof OperationOutcomeError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('FHIR JSON', () => {
  it('keeps the exact text of decimals and large integers through a round trip', () => {
    const text =
      '{"resourceType":"Observation","valueQuantity":{"value":1.50},"n":12345678901234567890,"e":1e2,"ok":2.5}';
    const parsed = parseFhirJson(text);
    expect(stringifyFhirJson(parsed)).toBe(text);
    expect(toPlainNumbers(parsed)).toMatchObject({ valueQuantity: { value: 1.5 }, e: 100, ok: 2.5 });
  });

  it('uses plain numbers when nothing would be lost', () => {
    const parsed = parseFhirJson('{"a":1.5,"b":[1,2,3],"s":"1.50 in a string"}') as any;
    expect(parsed.a).toBe(1.5);
    expect(stringifyFhirJson(parsed)).toBe('{"a":1.5,"b":[1,2,3],"s":"1.50 in a string"}');
  });

  it('refuses JSON nested deeper than the cap with a 400, without recursing', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const err = rejection(deep);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/nested deeper than 100/);
    // brackets inside strings do not count
    expect(() => parseFhirJson(JSON.stringify({ s: '['.repeat(500) }))).not.toThrow();
  });

  it('refuses malformed JSON with a 400 that says where', () => {
    const err = rejection('{"resourceType": "Patient",}');
    expect(err.status).toBe(400);
    expect(err.outcome.issue[0]?.diagnostics).toMatch(/Malformed JSON/);
  });
});
