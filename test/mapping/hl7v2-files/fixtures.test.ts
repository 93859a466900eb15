import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Immunization, Patient, ServiceRequest } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMappings, type MappingSet } from '../../../src/mapping/engine/index.ts';
import { mapHl7 } from './support.ts';
import type { MappedMessage, MappingContext } from '../../../src/mapping/types.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';
import { sharedFixture } from '../../support/shared-fixtures.ts';
import { BASE, INSTITUTION, structuralErrors } from './support.ts';

// Golden tests of the shipped HL7 mapping files on the public Microsoft FHIR-Converter samples
// (../shared/fixtures, never committed): skipped with a note where that folder is absent.
const dir = sharedFixture('hl7v2/microsoft-fhir-converter');
const CTX: MappingContext = { institution: INSTITUTION, canonicalBase: BASE, archiveId: 'arch-fixture' };
const SID = `${BASE}/sid/source-id/${INSTITUTION.id}`;

let set: MappingSet;
beforeAll(async () => {
  set = await loadMappings();
});

function mapFixture(name: string): MappedMessage {
  const msg = parseHl7(readFileSync(path.join(dir!, name), 'utf8'));
  const mapping = set.selectHl7({
    institution: INSTITUTION.id,
    application: msg.sendingApplication,
    messageType: msg.messageType,
  });
  expect(mapping, `a mapping file for ${msg.messageType}`).toBeDefined();
  return mapping!.map(msg, CTX);
}
const resources = <T>(b: Bundle, type: string) =>
  (b.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => e.resource as T);

/** Per order: key, status, OBR-4 code, authoredOn (ORC-9), note (its own NTE only). */
const ORDERS: Record<string, [string, string, string, string | undefined, string | undefined][]> = {
  'ORM-O01-01.hl7': [['order-1101', 'active', '24725-4', '2021-10-20T11:26:00+02:15', undefined]],
  'ORM-O01-02.hl7': [
    ['order-1101', 'active', '24725-4', '2021-10-20T11:26:00+02:15', 'CT Scan to be done urgent'],
  ],
  'ORM-O01-03.hl7': [
    ['order-1101', 'active', '24725-4', '2021-10-20T11:26:00+02:15', undefined],
    ['order-2203', 'active', '24590-2', '2021-10-20T11:26:00+02:15', undefined],
  ],
  'OML-O21-01.hl7': [['order-1101', 'active', '57698-3', '2021-10-20T11:26:00+02:15', 'Urgent']],
  // MSH-9 says ORM^O01 in this file: the ORM mapping takes it.
  'OML-O21-02.hl7': [
    ['order-1101', 'active', '57698-3', '2021-10-20T11:26:00+02:15', 'Urgent'],
    ['order-2203', 'active', '24590-2', '2021-10-20T11:26:00+02:15', undefined],
  ],
  // Orders known only by their placer group number (ORC-4); ORC-5 CM = completed, ORC-1 CA = revoked.
  'OML-O21-03.hl7': [
    ['group-9adf2339de714c6698063e3ddf5d07-1', 'completed', '57698-3', undefined, 'Urgent'],
    ['group-29adf2339de714c6698063e3ddf5d07-1', 'completed', '57698-3', undefined, 'Urgent'],
    ['order-1101', 'completed', '57698-3', undefined, undefined],
    [
      'group-9adf2339de714c6698063e3ddf5d0167-1',
      'completed',
      '57698-3',
      undefined,
      'Test Note for 3rd ServiceRequest',
    ],
    ['order-NI-2', 'revoked', '57698-3', undefined, 'Test Note for 3rd ServiceRequest'],
  ],
};

describe.skipIf(!dir)('shipped HL7 mapping files on the FHIR-Converter fixtures', () => {
  for (const [file, expected] of Object.entries(ORDERS)) {
    it(`${file} → Patient + ServiceRequest per order`, () => {
      const out = mapFixture(file);
      expect(structuralErrors(out.bundle)).toEqual([]);
      const [patient] = resources<Patient>(out.bundle, 'Patient');
      const adt = parseHl7(
        readFileSync(path.join(dir!, file), 'utf8').replace(
          /\|(ORM\^O01\^ORM_O01|OML\^O21\^OML_O21)\|/,
          '|ADT^A28|',
        ),
      );
      const builtIn = resources<Patient>(mapHl7(adt, CTX).bundle, 'Patient')[0]!;
      expect(patient!.identifier).toEqual(builtIn.identifier);
      expect(patient!.identifier?.[0]?.value).toBe('PATID1234');
      expect(patient!.birthDate).toBe('1988-08-18');
      const orders = resources<ServiceRequest>(out.bundle, 'ServiceRequest');
      expect(
        orders.map((o) => [
          o.identifier?.[0]?.value,
          o.status,
          o.code?.coding?.[0]?.code,
          o.authoredOn,
          o.note?.[0]?.text,
        ]),
      ).toEqual(expected);
      const patientUrl = out.bundle.entry![0]!.fullUrl;
      expect(orders.every((o) => o.subject.reference === patientUrl && o.intent === 'order')).toBe(true);
      expect(orders.every((o) => o.identifier?.[0]?.system === SID)).toBe(true);
    });
  }

  it('ORM-O01-01: ORC-12 requester, DG1 reason, eventTime from ORC-9 in its own offset', () => {
    const out = mapFixture('ORM-O01-01.hl7');
    expect(out.eventTime).toBe('2021-10-20T11:26:00+02:15');
    const [order] = resources<ServiceRequest>(out.bundle, 'ServiceRequest');
    expect(order!.requester).toEqual({
      identifier: { system: SID, value: 'doctor-3850' },
      display: 'JONES ORDPROVIDER',
    });
    expect(order!.reasonCode?.[0]?.coding?.[0]).toEqual({
      system: 'http://hl7.org/fhir/sid/icd-10',
      code: 'S06.9',
      display: 'TBI(traumatic brain injury',
    });
    expect(order!.meta?.tag?.[0]?.code).toBe('orm-o01@1');
  });

  it('VXU-V04-01 / 02 → Immunization per RXA, NDC and CVX kept with their systems', () => {
    const one = resources<Immunization>(mapFixture('VXU-V04-01.hl7').bundle, 'Immunization');
    const two = mapFixture('VXU-V04-02.hl7');
    expect(structuralErrors(two.bundle)).toEqual([]);
    const imms = resources<Immunization>(two.bundle, 'Immunization');
    expect(one.map((i) => i.identifier?.[0]?.value)).toEqual(['imm-13696']);
    expect(
      imms.map((i) => [
        i.identifier?.[0]?.value,
        i.status,
        i.vaccineCode.coding?.[0]?.system,
        i.vaccineCode.coding?.[0]?.code,
        i.occurrenceDateTime,
        i.primarySource,
      ]),
    ).toEqual([
      ['imm-13696', 'completed', 'http://hl7.org/fhir/sid/ndc', '49281021588', '2021-08-18', true],
      ['imm-38760', 'completed', 'http://hl7.org/fhir/sid/cvx', '88', '2014-10-12', false],
      ['imm-35508', 'completed', 'http://hl7.org/fhir/sid/cvx', '88', '2013-11-12', false],
    ]);
    expect(imms[0]).toMatchObject({
      lotNumber: '315841',
      expirationDate: '2021-12-16',
      manufacturer: {
        display: 'Sanofi Pasteur',
        identifier: { system: 'http://hl7.org/fhir/sid/mvx', value: 'PMC' },
      },
      doseQuantity: { unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' },
      route: { coding: [{ system: 'http://ncimeta.nci.nih.gov', code: 'C28161' }] },
    });
    expect(String(imms[0]!.doseQuantity?.value)).toBe('0.5');
    // 999 = amount unknown: no dose quantity rather than 999 of nothing.
    expect(imms[1]!.doseQuantity).toBeUndefined();
    expect(two.eventTime).toBe('2021-08-18T11:26:00+02:15');
    expect(two.issues).toEqual([]);
  });
});
