import type { Encounter, Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { mapHl7 } from './support.ts';
import { MappingError } from '../../../src/mapping/types.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';
import { BASE, CTX, structuralErrors } from './support.ts';

const MSH = (type: string, ctrl = 'XQ0001') =>
  `MSH|^~\\&|HIS|XQWSY|HIE|COUNTY|20240301083000||${type}|${ctrl}|P|2.5.1|||AL|NE|CHN|UNICODE UTF-8`;
const PID =
  'PID|1||330522198503121233^^^CHNID&&&^NNCHN~M0042^^^XQWSY^MR||欧阳^秀英||19850312|M|||新华路12号^^湖州市^浙江省^313100^CHN^H^^330522||^PRN^CP^^^^13905721234';
const A01 = [
  MSH('ADT^A01^ADT_A01'),
  'EVN|A01|20240301082500||||20240301080000',
  PID,
  'PV1|1|I|3W^301^2||||||||||||||||V20240301-7|||||||||||||||||||||||||20240301075500',
].join('\r');

function resources(bundle: { entry?: { resource?: unknown }[] }) {
  return (bundle.entry ?? []).map((e) => e.resource as { resourceType: string });
}

describe('shipped ADT mapping (mappings/hl7v2/adt.yaml)', () => {
  it('maps ADT^A01 with a Chinese name, national ID, MRN and visit', () => {
    const out = mapHl7(parseHl7(A01), CTX);
    expect(out.type).toBe('ADT^A01');
    expect(out.controlId).toBe('XQ0001');
    expect(out.eventTime).toBe('2024-03-01T08:00:00+08:00'); // EVN-6 wins over EVN-2
    expect(out.bundle.type).toBe('transaction');
    expect(structuralErrors(out.bundle)).toEqual([]);
    const [pEntry, eEntry] = out.bundle.entry!;
    const patient = pEntry!.resource as Patient;
    expect(pEntry!.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(pEntry!.request).toEqual({
      method: 'PUT',
      url: `Patient?identifier=${encodeURIComponent(`${BASE}/sid/mrn/xq-township`)}|M0042`,
    });
    expect(patient.identifier).toEqual([
      expect.objectContaining({ system: `${BASE}/sid/mrn/xq-township`, value: 'M0042' }),
      expect.objectContaining({ system: 'urn:oid:2.16.156.10011.1.3', value: '330522198503121233' }),
    ]);
    expect(patient.identifier![1]!.extension).toBeUndefined(); // verified
    expect(patient.name).toEqual([{ text: '欧阳秀英', family: '欧阳', given: ['秀英'] }]);
    expect(patient.gender).toBe('male');
    expect(patient.birthDate).toBe('1985-03-12');
    expect(patient.telecom).toEqual([{ system: 'phone', value: '13905721234', use: 'mobile' }]);
    expect(patient.address?.[0]).toMatchObject({
      use: 'home',
      city: '湖州市',
      state: '浙江省',
      district: '330522',
      line: ['新华路12号'],
    });
    expect(patient.meta).toEqual({
      source: `${BASE}/institution/xq-township#${CTX.archiveId}`,
      tag: [{ system: `${BASE}/CodeSystem/mapping`, code: 'adt@1' }],
    });
    expect(patient.extension).toEqual([
      { url: `${BASE}/StructureDefinition/source-event-time`, valueDateTime: '2024-03-01T08:00:00+08:00' },
    ]);
    const enc = eEntry!.resource as Encounter;
    expect(eEntry!.request!.url).toBe(
      `Encounter?identifier=${encodeURIComponent(`${BASE}/sid/visit/xq-township`)}|V20240301-7`,
    );
    expect(enc.subject).toEqual({ reference: pEntry!.fullUrl });
    expect(enc.serviceProvider).toEqual({ reference: 'Organization/xq-township' });
    expect(enc.class.code).toBe('IMP');
    expect(enc.period).toEqual({ start: '2024-03-01T07:55:00+08:00' }); // PV1-44
    expect(enc.status).toBe('in-progress');
    // No conditional key anywhere uses the national ID.
    expect(out.bundle.entry!.every((e) => !e.request!.url.includes('2.16.156'))).toBe(true);
  });

  it('gives the same fullUrls for the same archive row (replay) and different ones for another', () => {
    const a = mapHl7(parseHl7(A01), CTX).bundle.entry!.map((e) => e.fullUrl);
    const b = mapHl7(parseHl7(A01), CTX).bundle.entry!.map((e) => e.fullUrl);
    const c = mapHl7(parseHl7(A01), { ...CTX, archiveId: 'other' }).bundle.entry!.map((e) => e.fullUrl);
    expect(a).toEqual(b);
    expect(a[0]).not.toBe(c[0]);
  });

  it('writes the Patient only for a registration (no PV1-19, no PV1-44)', () => {
    const msg = [MSH('ADT^A04^ADT_A01'), 'EVN|A04|20240301082500', PID, 'PV1|1|O'].join('\r');
    const out = mapHl7(parseHl7(msg), CTX);
    expect(resources(out.bundle).map((r) => r.resourceType)).toEqual(['Patient']);
    expect(out.eventTime).toBe('2024-03-01T08:25:00+08:00'); // EVN-2
  });

  it('keeps a national ID that fails verification, tagged unverified, with a warning', () => {
    const bad = PID.replace('330522198503121233', '330522198503121234').replace('|M|||', '|M|||');
    const out = mapHl7(parseHl7([MSH('ADT^A28^ADT_A05'), 'EVN|A28|20240301082500', bad].join('\r')), CTX);
    const id = (out.bundle.entry![0]!.resource as Patient).identifier![1]!;
    expect(id.value).toBe('330522198503121234');
    expect(id.extension).toEqual([
      { url: `${BASE}/StructureDefinition/identifier-verification`, valueCode: 'unverified' },
    ]);
    expect(out.issues.some((i) => i.severity === 'warning' && /check-digit/.test(i.diagnostics ?? ''))).toBe(
      true,
    );
    expect(structuralErrors(out.bundle)).toEqual([]);
  });

  it('does not split a name the source did not split, and keeps Western order', () => {
    const one = PID.replace('欧阳^秀英', '司马相如~Zhang^Wei^^^Dr.');
    const p = mapHl7(parseHl7([MSH('ADT^A08^ADT_A01'), 'EVN|A08|20240301082500', one].join('\r')), CTX).bundle
      .entry![0]!.resource as Patient;
    expect(p.name).toEqual([
      { text: '司马相如' },
      { text: 'Dr. Wei Zhang', family: 'Zhang', given: ['Wei'], prefix: ['Dr.'] },
    ]);
  });

  it("keeps the mother's maiden (family) name from PID-6.1 in the extension PDQm searches by", () => {
    const withMaiden = PID.replace('||欧阳^秀英||', '||欧阳^秀英|李^桂兰|');
    const p = mapHl7(parseHl7([MSH('ADT^A08^ADT_A01'), 'EVN|A08|20240301082500', withMaiden].join('\r')), CTX)
      .bundle.entry![0]!.resource as Patient;
    const maiden = (x: Patient) =>
      (x.extension ?? []).filter(
        (e) => e.url === 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
      );
    expect(maiden(p)).toEqual([
      { url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName', valueString: '李' },
    ]);
    const without = mapHl7(parseHl7([MSH('ADT^A08^ADT_A01'), 'EVN|A08|20240301082500', PID].join('\r')), CTX)
      .bundle.entry![0]!.resource as Patient;
    expect(maiden(without)).toEqual([]);
  });

  it('maps A40: the merged record inactive and replaced-by, the survivor replaces', () => {
    const msg = [MSH('ADT^A40^ADT_A39'), 'EVN|A40|20240301082500', PID, 'MRG|M0007^^^XQWSY^MR'].join('\r');
    const out = mapHl7(parseHl7(msg), CTX);
    expect(structuralErrors(out.bundle)).toEqual([]);
    const [s, m] = out.bundle.entry!;
    expect((s!.resource as Patient).link).toEqual([{ other: { reference: m!.fullUrl }, type: 'replaces' }]);
    expect(m!.resource).toMatchObject({
      active: false,
      link: [{ other: { reference: s!.fullUrl }, type: 'replaced-by' }],
    });
    expect(m!.request!.url).toMatch(/\|M0007$/);
    expect((m!.resource as Patient).identifier!.map((i) => i.value)).toEqual(['M0007']);
  });

  it('sets A03 finished and A11 entered-in-error', () => {
    const pv1 = 'PV1|1|I|||||||||||||||||V9|||||||||||||||||||||||||20240301075500|20240305100000';
    const a03 = mapHl7(
      parseHl7([MSH('ADT^A03^ADT_A03'), 'EVN|A03|20240305100000', PID, pv1].join('\r')),
      CTX,
    );
    expect(a03.bundle.entry![1]!.resource).toMatchObject({
      status: 'finished',
      period: { end: '2024-03-05T10:00:00+08:00' },
    });
    const a11 = mapHl7(
      parseHl7([MSH('ADT^A11^ADT_A09'), 'EVN|A11|20240301090000', PID, pv1].join('\r')),
      CTX,
    );
    expect((a11.bundle.entry![1]!.resource as Encounter).status).toBe('entered-in-error');
  });

  it('fails precisely on content problems', () => {
    const err = (msg: string) => {
      try {
        mapHl7(parseHl7(msg), CTX);
      } catch (e) {
        expect(e).toBeInstanceOf(MappingError);
        return e as MappingError;
      }
      throw new Error('expected MappingError');
    };
    const badDate = err(
      [MSH('ADT^A01'), 'EVN|A01|20240301', PID.replace('|19850312|', '|19850230|')].join('\r'),
    );
    expect(badDate.kind).toBe('error');
    expect(badDate.problems[0]!.hl7).toMatchObject({ segment: 'PID', sequence: 1, field: 7, code: '102' });
    const noPid3 = err([MSH('ADT^A01'), 'EVN|A01|20240301', 'PID|1||||王^芳'].join('\r'));
    expect(noPid3.problems[0]!.hl7).toMatchObject({ segment: 'PID', field: 3, code: '101' });
    const onlyNational = err([MSH('ADT^A01'), 'PID|1||330522198503121233^^^^NNCHN||王^芳'].join('\r'));
    expect(onlyNational.problems[0]!.hl7).toMatchObject({ field: 3, code: '101' });
    const noPidSeg = err([MSH('ADT^A01'), 'EVN|A01|20240301'].join('\r'));
    expect(noPidSeg.problems[0]!.hl7).toMatchObject({ segment: 'PID', code: '100' });
    const a29 = err([MSH('ADT^A29^ADT_A21'), PID].join('\r'));
    expect([a29.kind, a29.problems[0]!.hl7?.code]).toEqual(['reject', '201']);
    const siu = err([MSH('SIU^S12'), PID].join('\r'));
    expect([siu.kind, siu.problems[0]!.hl7?.code]).toEqual(['reject', '200']);
  });
});
