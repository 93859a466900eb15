import type { Condition, Encounter } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { mapHl7 } from './support.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';
import { BASE, CTX, structuralErrors } from './support.ts';

const MSH = (type: string) =>
  `MSH|^~\\&|HIS|XQWSY|HIE|COUNTY|20240301083000||${type}|XQ0100|P|2.5|||AL|NE|CHN|UNICODE UTF-8`;
const PID = 'PID|1||M0042^^^XQWSY^MR||欧阳秀英||19850312|M';
const PV1 = (extra = '') =>
  `PV1|1|I|心内科^^^XQWSY||||||||||||||||V88|||||||||||||||||||||||||20240301075500${extra}`;

function byType<T>(
  bundle: { entry?: { resource?: unknown; request?: { url: string }; fullUrl?: string }[] },
  type: string,
) {
  return (bundle.entry ?? []).filter(
    (e) => (e.resource as { resourceType: string }).resourceType === type,
  ) as {
    resource: T;
    request: { url: string };
    fullUrl: string;
  }[];
}

describe('shipped ADT mapping: DG1 → Condition', () => {
  const a01 = [
    MSH('ADT^A01^ADT_A01'),
    'EVN|A01|20240301082500',
    PID,
    PV1(),
    'DG1|1||I20.0^不稳定型心绞痛^I10||20240301080000|A',
    'DG1|2||I25.1^动脉粥样硬化性心脏病^I10||20240301080000|A',
  ].join('\r');

  it('maps each coded DG1 to an encounter-diagnosis Condition keyed by visit and DG1-1', () => {
    const out = mapHl7(parseHl7(a01), CTX);
    expect(structuralErrors(out.bundle)).toEqual([]);
    const conditions = byType<Condition>(out.bundle, 'Condition');
    expect(conditions).toHaveLength(2);
    const [first] = conditions;
    expect(first!.request.url).toBe(
      `Condition?identifier=${encodeURIComponent(`${BASE}/sid/source-id/xq-township`)}|V88-DG1-1`,
    );
    expect(first!.resource.code).toEqual({
      coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I20.0', display: '不稳定型心绞痛' }],
      text: '不稳定型心绞痛',
    });
    expect(first!.resource.verificationStatus?.coding?.[0]?.code).toBe('provisional'); // DG1-6 A
    expect(first!.resource.category?.[0]?.coding?.[0]?.code).toBe('encounter-diagnosis');
    expect(first!.resource.recordedDate).toBe('2024-03-01T08:00:00+08:00');
    const [enc] = byType<Encounter>(out.bundle, 'Encounter');
    expect(first!.resource.encounter).toEqual({ reference: enc!.fullUrl });
    expect(enc!.resource.diagnosis).toEqual([
      { condition: { reference: conditions[0]!.fullUrl } },
      { condition: { reference: conditions[1]!.fullUrl } },
    ]);
  });

  it('gives the discharge diagnosis (A03, final) the same key as the admitting one', () => {
    const a03 = a01
      .replace('ADT^A01^ADT_A01', 'ADT^A03^ADT_A03')
      .replace('EVN|A01', 'EVN|A03')
      .replace(/\|A$/m, '|F');
    const admit = byType<Condition>(mapHl7(parseHl7(a01), CTX).bundle, 'Condition')[0]!;
    const discharge = byType<Condition>(mapHl7(parseHl7(a03), CTX).bundle, 'Condition')[0]!;
    expect(discharge.request.url).toBe(admit.request.url);
    expect(discharge.resource.verificationStatus?.coding?.[0]?.code).toBe('confirmed');
  });

  it('skips a DG1 without a code with a warning, and keys by MRN without a visit', () => {
    const msg = [
      MSH('ADT^A04^ADT_A01'),
      'EVN|A04|20240301082500',
      PID,
      'PV1|1|O',
      'DG1|1||||20240301080000|F',
      'DG1|2||E11.9^2型糖尿病^I10||20240301080000|F',
    ].join('\r');
    const out = mapHl7(parseHl7(msg), CTX);
    const conditions = byType<Condition>(out.bundle, 'Condition');
    expect(conditions).toHaveLength(1);
    expect(conditions[0]!.resource.identifier).toEqual([
      { use: 'usual', system: `${BASE}/sid/source-id/xq-township`, value: 'M0042-DG1-E11.9' },
    ]);
    expect(conditions[0]!.resource.encounter).toBeUndefined();
    expect(out.issues.some((i) => /DG1-3/.test(i.diagnostics ?? ''))).toBe(true);
  });
});
