import type { Bundle, BundleEntry, Encounter, Patient } from 'fhir/r4';
import type { NewMessage } from '../../../src/inbox/types.ts';
import { uuidv7 } from '../../../src/kernel/ids.ts';

export const BASE = 'https://county-hie.org/fhir';
export const EVENT_TIME_URL = `${BASE}/StructureDefinition/source-event-time`;

export interface PatientVisit {
  institution: string;
  mrn: string;
  /** Omit for a registration (Patient only). */
  visit?: string;
  eventTime: string;
  name?: string;
  /** An invalid Patient (unknown gender code) to provoke a 422. */
  invalid?: boolean;
}

/**
 * A hand-made mapped message in the shape of src/mapping/types.ts: a transaction that upserts
 * the Patient by its institution-scoped MRN and an Encounter by its visit number, the Encounter
 * pointing at the Patient through its urn:uuid fullUrl.
 */
export function mappedBundle(p: PatientVisit, archiveId: string): Bundle {
  const source = `${BASE}/institution/${p.institution}#${archiveId}`;
  const ext = [{ url: EVENT_TIME_URL, valueDateTime: p.eventTime }];
  const mrnSystem = `${BASE}/sid/mrn/${p.institution}`;
  const patientUrl = `urn:uuid:${crypto.randomUUID()}`;
  const entries: BundleEntry<Patient | Encounter>[] = [
    {
      fullUrl: patientUrl,
      resource: {
        resourceType: 'Patient',
        meta: { source, tag: [{ system: `${BASE}/CodeSystem/mapping`, code: 'hl7v2-adt@1' }] },
        extension: ext,
        identifier: [{ system: mrnSystem, value: p.mrn }],
        name: [{ text: p.name ?? '王秀英' }],
        gender: (p.invalid ? 'not-a-gender' : 'female') as 'female',
      } satisfies Patient,
      request: { method: 'PUT', url: `Patient?identifier=${encodeURIComponent(`${mrnSystem}|${p.mrn}`)}` },
    },
  ];
  if (p.visit) {
    const visitSystem = `${BASE}/sid/visit/${p.institution}`;
    entries.push({
      fullUrl: `urn:uuid:${crypto.randomUUID()}`,
      resource: {
        resourceType: 'Encounter',
        meta: { source },
        extension: ext,
        identifier: [{ system: visitSystem, value: p.visit }],
        status: 'in-progress',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: patientUrl },
        serviceProvider: { reference: `Organization/${p.institution}` },
        period: { start: p.eventTime },
      } satisfies Encounter,
      request: {
        method: 'PUT',
        url: `Encounter?identifier=${encodeURIComponent(`${visitSystem}|${p.visit}`)}`,
      },
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries } as Bundle;
}

/** The archived form of such a message, ready for `inbox.store`. */
export function newMessage(p: PatientVisit): NewMessage {
  const id = uuidv7();
  const controlId = `${p.mrn}-${p.visit ?? 'reg'}-${p.eventTime}`;
  return {
    id,
    institution: p.institution,
    format: 'hl7v2',
    transport: 'http',
    type: p.visit ? 'ADT^A01' : 'ADT^A04',
    controlId,
    raw: Buffer.from(`MSH|^~\\&|HIS|${p.institution}|||${p.eventTime}||ADT^A01|${controlId}|P|2.5\r`),
    state: 'queued',
    bundle: mappedBundle(p, id),
    eventTime: p.eventTime,
  };
}
