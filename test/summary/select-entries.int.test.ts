import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { FhirRepository } from '../../src/repository/store/fhir-repository.ts';
import { selectEntries, type SelectedEntries } from '../../src/summary/select-entries.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

type Json = Record<string, any>;

const BASE = 'http://hie.test/fhir';
const LOINC = 'http://loinc.org';
const AS_OF = new Date('2026-11-05T00:00:00Z');

const cc = (system: string, code: string) => ({ coding: [{ system, code }] });
const clinical = (code: string) => cc('http://terminology.hl7.org/CodeSystem/condition-clinical', code);
const category = (code: string) => [cc('http://terminology.hl7.org/CodeSystem/observation-category', code)];

/** Two records of one person (a and b) and a stranger whose rows must never show. */
const A = { reference: 'Patient/sel-a' };
const B = { reference: 'Patient/sel-b' };
const STRANGER = { reference: 'Patient/sel-x' };

const condition = (id: string, extra: Json, subject = A) => ({
  resourceType: 'Condition',
  id,
  code: cc('http://hl7.org/fhir/sid/icd-10', 'I10'),
  subject,
  ...extra,
});
const observation = (id: string, code: string, at: string, cat: string, subject = A) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  category: category(cat),
  code: cc(LOINC, code),
  subject,
  effectiveDateTime: at,
  valueQuantity: { value: 1, unit: 'x' },
});
/** Fourteen monthly blood pressures from January 2025: a series of twelve is kept. */
const pressures = Array.from({ length: 14 }, (_, i) =>
  observation(
    `bp-${String(i).padStart(2, '0')}`,
    '85354-9',
    new Date(Date.UTC(2025, i, 15)).toISOString(),
    'vital-signs',
    i % 2 === 0 ? A : B,
  ),
);

const RESOURCES: Json[] = [
  condition('cond-active', { clinicalStatus: clinical('active'), recordedDate: '2026-01-01' }),
  condition('cond-recurrence', { clinicalStatus: clinical('recurrence'), recordedDate: '2026-03-01' }, B),
  condition('cond-no-status', {}),
  condition('cond-resolved', { clinicalStatus: clinical('resolved') }),
  condition('cond-refuted', {
    clinicalStatus: clinical('active'),
    verificationStatus: cc('http://terminology.hl7.org/CodeSystem/condition-ver-status', 'refuted'),
  }),
  condition('cond-stranger', { clinicalStatus: clinical('active') }, STRANGER),
  {
    resourceType: 'AllergyIntolerance',
    id: 'allergy-active',
    clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active'),
    patient: A,
  },
  {
    resourceType: 'AllergyIntolerance',
    id: 'allergy-inactive',
    clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'inactive'),
    patient: B,
  },
  ...[
    ['med-active', 'active', '2026-10-01'],
    ['med-on-hold', 'on-hold', '2026-10-20'],
    ['med-stopped', 'stopped', '2026-10-30'],
  ].map(([id, status, authoredOn]) => ({
    resourceType: 'MedicationRequest',
    id,
    status,
    intent: 'order',
    medicationCodeableConcept: cc('http://example.org/drug', id!),
    subject: A,
    authoredOn,
  })),
  {
    resourceType: 'MedicationStatement',
    id: 'statement-intended',
    status: 'intended',
    medicationCodeableConcept: cc('http://example.org/drug', 'ms'),
    subject: B,
  },
  ...[
    ['imm-done', 'completed'],
    ['imm-not-done', 'not-done'],
  ].map(([id, status]) => ({
    resourceType: 'Immunization',
    id,
    status,
    vaccineCode: cc('http://hl7.org/fhir/sid/cvx', '141'),
    patient: A,
    occurrenceDateTime: '2026-10-10',
  })),
  ...[
    ['report-recent', 'final', '2026-09-01'],
    ['report-old', 'final', '2023-01-01'],
    ['report-error', 'entered-in-error', '2026-09-02'],
  ].map(([id, status, at]) => ({
    resourceType: 'DiagnosticReport',
    id,
    status,
    code: cc(LOINC, '58410-2'),
    subject: B,
    effectiveDateTime: at,
  })),
  observation('lab-recent', '718-7', '2026-08-01T08:00:00Z', 'laboratory'),
  observation('lab-newer', '6690-2', '2026-10-01T08:00:00Z', 'laboratory', B),
  observation('lab-old', '718-7', '2022-08-01T08:00:00Z', 'laboratory'),
  observation('smoking', '72166-2', '2026-08-01T08:00:00Z', 'social-history'),
  ...pressures,
  observation('pulse-old', '8867-4', '2025-01-01T08:00:00Z', 'vital-signs'),
  observation('pulse-new', '8867-4', '2026-01-01T08:00:00Z', 'vital-signs', B),
  observation('pulse-stranger', '8867-4', '2026-11-01T08:00:00Z', 'vital-signs', STRANGER),
  ...[
    ['proc-done', 'completed', '2026-05-01'],
    ['proc-not-done', 'not-done', '2026-05-02'],
  ].map(([id, status, at]) => ({
    resourceType: 'Procedure',
    id,
    status,
    code: cc('http://snomed.info/sct', '80146002'),
    subject: A,
    performedDateTime: at,
  })),
  ...[
    ['enc-recent', '2026-06-01T08:00:00Z'],
    ['enc-old', '2021-06-01T08:00:00Z'],
  ].map(([id, start]) => ({
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: A,
    period: { start },
  })),
  ...[
    ['referral-active', 'active', '3457005'],
    ['referral-completed', 'completed', '3457005'],
    ['lab-order', 'active', '108252007'],
  ].map(([id, status, cat]) => ({
    resourceType: 'ServiceRequest',
    id,
    status,
    intent: 'order',
    category: [cc('http://snomed.info/sct', cat!)],
    subject: B,
    authoredOn: '2026-11-01',
  })),
  ...[
    ['contract', 'family-doctor-contract'],
    ['other-episode', 'home-care'],
  ].map(([id, type]) => ({
    resourceType: 'EpisodeOfCare',
    id,
    status: 'active',
    type: [cc('https://county-hie.org/fhir/CodeSystem/episode-type', type!)],
    patient: A,
  })),
  { resourceType: 'CareTeam', id: 'team', status: 'active', subject: A },
];

const ids = (list: Json[]) => list.map((r) => r.id as string);

describe('selectEntries: the IPS rules in SQL over the person’s own rows', () => {
  let t: TestDatabase;
  let selected: SelectedEntries;

  beforeAll(async () => {
    t = await createTestDatabase(inject('pgServers')[0]!);
    const repo = new FhirRepository(t.db, loadFhirModel(), BASE);
    for (const id of ['sel-a', 'sel-b', 'sel-x'])
      await repo.update('Patient', id, { resourceType: 'Patient', id, name: [{ text: id }] });
    for (const r of RESOURCES) await repo.update(r.resourceType, r.id, r);
    selected = await selectEntries(t.db, ['sel-a', 'sel-b'], AS_OF);
  });
  afterAll(async () => t?.drop());

  it('keeps active, recurring and status-less problems, newest first; not resolved, refuted or others’', () => {
    expect(ids(selected.problems)).toEqual(['cond-recurrence', 'cond-active', 'cond-no-status']);
  });

  it('keeps active allergies, current medicines and given vaccines', () => {
    expect(ids(selected.allergies)).toEqual(['allergy-active']);
    // Undated last: the statement has no authoredOn.
    expect(ids(selected.medications)).toEqual(['med-on-hold', 'med-active', 'statement-intended']);
    expect(ids(selected.immunizations)).toEqual(['imm-done']);
  });

  it('keeps results of the last 24 months, reports first, without vital signs or social history', () => {
    expect(ids(selected.results)).toEqual(['report-recent', 'lab-newer', 'lab-recent']);
  });

  it('keeps the latest vital sign per code and a series of twelve for blood pressure', () => {
    const expected = ids(pressures).reverse().slice(0, 12);
    expect(ids(selected.vitalSigns)).toEqual([...expected, 'pulse-new']);
  });

  it('keeps recent procedures and encounters, referrals in flight and the family-doctor contract', () => {
    expect(ids(selected.procedures)).toEqual(['proc-done']);
    expect(ids(selected.encounters)).toEqual(['enc-recent']);
    expect(ids(selected.referrals)).toEqual(['referral-active']);
    expect(ids(selected.careTeam)).toEqual(['contract', 'team']);
  });

  it('reads a shorter window and series when the rules say so', async () => {
    const narrow = await selectEntries(t.db, ['sel-a', 'sel-b'], AS_OF, { resultMonths: 3, seriesLength: 2 });
    expect(ids(narrow.results)).toEqual(['report-recent', 'lab-newer']);
    expect(ids(narrow.vitalSigns)).toEqual(['bp-13', 'bp-12', 'pulse-new']);
    expect(ids(narrow.encounters)).toEqual([]);
  });
});
