import {
  isLosslessNumber,
  parse as losslessParse,
  stringify as losslessStringify,
  LosslessNumber,
} from 'lossless-json';
import { describe, expect, it } from 'vitest';
import {
  copyFhirJson,
  parseFhirJson,
  stringifyFhirJson,
  toPlainNumbers,
} from '../../src/kernel/fhir-json.ts';
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

  it('refuses a name given twice in one object, saying which and where', () => {
    for (const [text, name, at] of [
      ['{"a":1,"a":2}', 'a', 7],
      // exact decimals take another path through the parser: the same answer
      ['{"valueQuantity":{"value":1.50,"value":2}}', 'value', 31],
      // equal values, and a name spelt with an escape, are still a name twice
      ['{"x":{"b":1, "b" :1}}', 'b', 13],
      ['{"family":"王","\\u0066amily":"李"}', 'family', 14],
    ] as const) {
      const err = rejection(text);
      expect(err.status, text).toBe(400);
      expect(err.outcome.issue[0]?.diagnostics, text).toBe(
        `Malformed JSON: the name "${name}" appears twice in one object (position ${at})`,
      );
    }
    // The same name in different objects, and colons inside strings, are no repetition.
    expect(parseFhirJson('{"x":[{"k":1},{"k":2.50}],"y":{"k":{"k":"a:b"}},"z":":"}')).toMatchObject({
      x: [{ k: 1 }, {}],
      y: { k: { k: 'a:b' } },
      z: ':',
    });
  });

  it('reads exact numbers the same way whatever the text around them (strings, escapes, keys)', () => {
    // The reference: lossless-json, keeping a number as text exactly when JSON.parse would change it.
    const reference = (text: string) =>
      losslessParse(text, null, (t: string) => (String(Number(t)) === t ? Number(t) : new LosslessNumber(t)));
    const numbers = ['0', '-0', '1.50', '1.5', '12', '-3.10', '1e2', '2.5E-3', '12345678901234567890', '0.1'];
    const strings = [
      'plain',
      '1.50 in text',
      'quote " and 7.0',
      'back\\\\slash 2.00',
      '数值 3.0',
      ':1.0,',
      '',
    ];
    let seed = 7;
    const pick = <T>(list: T[]) => list[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % list.length]!;
    const build = (depth: number): string => {
      const kind = depth > 3 ? 0 : seed % 3;
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      if (kind === 0) return seed % 2 ? pick(numbers) : JSON.stringify(pick(strings));
      if (kind === 1) return `[${[build(depth + 1), build(depth + 1), pick(numbers)].join(', ')}]`;
      return `{"${pick(strings).replace(/["\\]/g, '')}k": ${build(depth + 1)}, "n" : ${pick(numbers)}}`;
    };
    for (let n = 0; n < 300; n++) {
      const text = build(0);
      const ours = parseFhirJson(text);
      expect(stringifyFhirJson(ours), text).toBe(stringifyFhirJson(reference(text)));
      expect(ours, text).toEqual(reference(text));
      // Written as lossless-json writes it (strings and names with the marker character included).
      expect(stringifyFhirJson(ours), text).toBe(losslessStringify(reference(text)));
      const marked = reference(text.replace(/"plain"/g, '"\uE0001.50"'));
      expect(stringifyFhirJson(marked), text).toBe(losslessStringify(marked));
    }
  });

  it('keeps strings that hold the marker character the fast reading uses, and their numbers exact', () => {
    const text = '{"a":"\uE0001.50","b":1.50,"c":"\\uE000x","d":[2.10]}';
    const parsed = parseFhirJson(text) as any;
    expect(parsed.a).toBe('\uE0001.50');
    expect(parsed.c).toBe('\uE000x');
    expect(isLosslessNumber(parsed.b)).toBe(true);
    expect(stringifyFhirJson(parsed)).toBe('{"a":"\uE0001.50","b":1.50,"c":"\uE000x","d":[2.10]}');
  });

  it('refuses text the fast reading could mistake for JSON: a number as a name, a malformed number', () => {
    for (const text of [
      '{1.50: 2}',
      '{"a": 1.50.1}',
      '{"a": 01.50}',
      '{"a": 1.50',
      '[1.50 2.50]',
      '{"a": -}',
    ]) {
      const err = rejection(text);
      expect(err.status, text).toBe(400);
      expect(err.outcome.issue[0]?.diagnostics, text).toMatch(/Malformed JSON/);
    }
  });

  it('copies parsed JSON deeply, sharing only the exact numbers', () => {
    const parsed = parseFhirJson('{"a":{"b":[1,{"c":1.50}]},"s":"x"}') as any;
    const copy = copyFhirJson(parsed);
    expect(copy).toEqual(parsed);
    expect(copy.a).not.toBe(parsed.a);
    expect(copy.a.b[1]).not.toBe(parsed.a.b[1]);
    copy.a.b[1].c = 2;
    expect(stringifyFhirJson(parsed)).toBe('{"a":{"b":[1,{"c":1.50}]},"s":"x"}');
  });
});
