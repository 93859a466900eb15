import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OperationOutcomeIssue } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { regionDefinitions } from '../../profiles/build/definitions.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import {
  DEFAULT_PROFILES_DIR,
  claimedProfileIssues,
  knownProfiles,
  validateResource,
} from '../../src/validate/index.ts';

const model = loadFhirModel();
const BASE = 'https://county-hie.org/fhir';
const NID = 'urn:oid:2.16.156.10011.1.3';
const TIER = `${BASE}/CodeSystem/institution-tier`;
const errors = (issues: OperationOutcomeIssue[]) =>
  issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
const warnings = (issues: OperationOutcomeIssue[]) => issues.filter((i) => i.severity === 'warning');
const base = (r: Record<string, unknown>) => validateResource(model, r).issue;
const region = (r: Record<string, unknown>) => validateResource(model, r, { regionProfiles: true }).issue;

const subject = { reference: 'Patient/p1' };
const when = '2026-03-01T09:30:00+08:00';

/**
 * For every region profile: a valid resource, and one change that base R4 accepts but the
 * profile refuses, with the place the refusal must name.
 */
const CASES: {
  type: string;
  valid: Record<string, unknown>;
  invalid: (r: Record<string, unknown>) => void;
  at: string;
}[] = [
  {
    type: 'Patient',
    valid: {
      name: [{ text: '王秀英' }],
      gender: 'female',
      identifier: [{ system: NID, value: '11010519491231002X' }],
    },
    invalid: (r) => delete r.name,
    at: 'Patient.name',
  },
  {
    type: 'Encounter',
    valid: {
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject,
      serviceProvider: { reference: 'Organization/county-peoples-hospital' },
      period: { start: when },
    },
    invalid: (r) => delete r.serviceProvider,
    at: 'Encounter.serviceProvider',
  },
  {
    type: 'Observation',
    valid: {
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject,
      effectiveDateTime: when,
    },
    invalid: (r) => delete r.effectiveDateTime,
    at: 'Observation.effective[x]',
  },
  {
    type: 'Organization',
    valid: {
      identifier: [{ system: `${BASE}/sid/institution`, value: 'qingshan-village-1' }],
      name: '青山村卫生室',
      type: [{ coding: [{ system: TIER, code: 'village-clinic' }] }],
    },
    invalid: (r) =>
      (r.type = [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] },
      ]),
    at: 'Organization',
  },
  {
    type: 'Condition',
    valid: { subject, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I10' }] } },
    invalid: (r) => delete r.code,
    at: 'Condition.code',
  },
  {
    type: 'Practitioner',
    valid: { name: [{ text: '李医生' }] },
    invalid: (r) => delete r.name,
    at: 'Practitioner.name',
  },
  {
    type: 'PractitionerRole',
    valid: { practitioner: { reference: 'Practitioner/d1' }, organization: { reference: 'Organization/o1' } },
    invalid: (r) => delete r.organization,
    at: 'PractitionerRole.organization',
  },
  {
    type: 'MedicationRequest',
    valid: {
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: { text: '硝苯地平' },
      subject,
      authoredOn: when,
    },
    invalid: (r) => delete r.authoredOn,
    at: 'MedicationRequest.authoredOn',
  },
  {
    type: 'DiagnosticReport',
    valid: { status: 'final', code: { text: '血常规' }, subject, effectiveDateTime: when },
    invalid: (r) => delete r.effectiveDateTime,
    at: 'DiagnosticReport.effective[x]',
  },
  {
    type: 'ImagingStudy',
    valid: { status: 'available', subject, started: when },
    invalid: (r) => delete r.started,
    at: 'ImagingStudy.started',
  },
  {
    type: 'ServiceRequest',
    valid: { status: 'active', intent: 'order', code: { text: '胸部CT' }, subject, authoredOn: when },
    invalid: (r) => delete r.authoredOn,
    at: 'ServiceRequest.authoredOn',
  },
  {
    type: 'Immunization',
    valid: {
      status: 'completed',
      vaccineCode: { text: '乙肝疫苗' },
      patient: subject,
      occurrenceDateTime: when,
    },
    invalid: (r) => {
      delete r.occurrenceDateTime;
      r.occurrenceString = '去年春天';
    },
    at: 'Immunization.occurrence',
  },
  {
    type: 'AllergyIntolerance',
    valid: {
      patient: subject,
      code: { text: '青霉素' },
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
        ],
      },
    },
    invalid: (r) => delete r.code,
    at: 'AllergyIntolerance.code',
  },
];

describe('the shipped region profiles', () => {
  it('are committed exactly as profiles/build rebuilds them, each with a snapshot', () => {
    for (const { folder, file, resource } of regionDefinitions()) {
      const committed = JSON.parse(readFileSync(path.join(DEFAULT_PROFILES_DIR, folder, file), 'utf8'));
      expect(committed, `${folder}/${file}`).toEqual(JSON.parse(JSON.stringify(resource)));
    }
    expect(
      CASES.map((c) => knownProfiles().forType(c.type)?.snapshot?.element.length ?? 0).every((n) => n > 0),
    ).toBe(true);
  });

  for (const c of CASES) {
    it(`${c.type}: a valid example passes; the invalid one passes base R4 and fails only the profile`, () => {
      const valid = { resourceType: c.type, ...structuredClone(c.valid) };
      expect(errors(region(valid))).toEqual([]);
      const invalid = structuredClone(valid);
      c.invalid(invalid);
      expect(errors(base(invalid))).toEqual([]);
      const refused = errors(region(invalid));
      expect(refused.length).toBeGreaterThan(0);
      for (const issue of refused) expect(issue.diagnostics).toContain(`${BASE}/StructureDefinition/hie-`);
      expect(refused.flatMap((i) => i.expression ?? []).some((e) => e.startsWith(c.at))).toBe(true);
    });
  }

  it('Patient: a second national ID breaks the 0..1 slice; other identifiers are open', () => {
    const twice = {
      resourceType: 'Patient',
      name: [{ text: '王秀英' }],
      gender: 'female',
      identifier: [
        { system: NID, value: '11010519491231002X' },
        { system: `${BASE}/sid/mrn/county-peoples-hospital`, value: 'M1' },
        { system: `${BASE}/sid/mrn/county-tcm-hospital`, value: 'M2' },
      ],
    };
    expect(errors(region(twice))).toEqual([]);
    twice.identifier.push({ system: NID, value: '440304198506122014' });
    expect(errors(base(twice))).toEqual([]);
    expect(
      errors(region(twice))
        .map((i) => i.diagnostics)
        .join(),
    ).toMatch(/nationalId/);
  });

  it('Patient: an administrative division code of the wrong length is refused', () => {
    const division = (valueCode: string) => ({
      resourceType: 'Patient',
      name: [{ text: '王秀英' }],
      gender: 'female',
      address: [
        {
          text: '青山县城关镇',
          extension: [{ url: `${BASE}/StructureDefinition/administrative-division`, valueCode }],
        },
      ],
    });
    expect(errors(region(division('331122')))).toEqual([]);
    expect(errors(region(division('331122101')))).toEqual([]);
    expect(errors(base(division('3311')))).toEqual([]);
    expect(errors(region(division('3311'))).map((i) => i.expression?.[0])).toEqual(['Patient.address[0]']);
  });

  it('Patient without a gender and Encounter without a period: warnings, not refusals', () => {
    const patient = region({ resourceType: 'Patient', name: [{ text: '赵六' }] });
    expect(errors(patient)).toEqual([]);
    expect(
      warnings(patient)
        .map((i) => i.diagnostics)
        .join(),
    ).toMatch(/hie-pat-1/);
    const { period: _omitted, ...open } = CASES[1]!.valid;
    const encounter = region({ ...open, resourceType: 'Encounter' });
    expect(errors(encounter)).toEqual([]);
    expect(
      warnings(encounter)
        .map((i) => i.diagnostics)
        .join(),
    ).toMatch(/hie-enc-1/);
  });

  it('checks required bindings inside CodeableConcepts, which Medplum leaves unchecked', () => {
    const condition = {
      resourceType: 'Condition',
      subject,
      code: { text: '高血压' },
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'cured' }],
      },
    };
    const refused = errors(region(condition));
    expect(refused.map((i) => [i.code, i.expression?.[0]])).toEqual([
      ['code-invalid', 'Condition.clinicalStatus'],
    ]);
    condition.clinicalStatus.coding[0]!.code = 'resolved';
    expect(errors(region(condition))).toEqual([]);
  });

  it('$validate-style checks of a Bundle apply the profile of each entry', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Practitioner' } }],
    };
    expect(errors(region(bundle)).map((i) => i.expression?.[0])).toContain('Bundle.entry[0].resource.name');
  });
});

describe('the national ID in the Patient profile', () => {
  const withId = (value: string, gender = 'female') => ({
    resourceType: 'Patient',
    name: [{ text: '王秀英' }],
    gender,
    identifier: [{ system: NID, value }],
  });

  it('a valid ID, a valid one ending in X, and a 15-digit legacy one: no warning', () => {
    expect(warnings(region(withId('440304198506122014', 'male')))).toEqual([]);
    expect(warnings(region(withId('11010519491231002X')))).toEqual([]);
    expect(warnings(region(withId('440304850612201', 'male')))).toEqual([]);
  });

  it('a wrong check digit is one warning at the identifier, never an error', () => {
    const issues = region(withId('110105194912310021'));
    expect(errors(issues)).toEqual([]);
    expect(warnings(issues).map((i) => i.expression?.[0])).toEqual(['Patient.identifier[0].value']);
  });

  it('the profile invariant alone (without the national-ID check) catches the check digit', () => {
    const issues = validateResource(model, withId('110105194912310021'), {
      regionProfiles: true,
      nationalIdWarnings: false,
    }).issue;
    expect(
      warnings(issues)
        .map((i) => i.diagnostics)
        .join(),
    ).toMatch(/hie-nid-2/);
    expect(errors(issues)).toEqual([]);
  });
});

describe('claimedProfileIssues (direct /fhir writes)', () => {
  it('checks a claimed known profile, notes an unknown one, and ignores the region profile otherwise', () => {
    const url = `${BASE}/StructureDefinition/hie-practitioner`;
    expect(claimedProfileIssues({ resourceType: 'Practitioner' })).toEqual([]);
    const claimed = claimedProfileIssues({ resourceType: 'Practitioner', meta: { profile: [url] } });
    expect(errors(claimed).map((i) => i.expression?.[0])).toEqual(['Practitioner.name']);
    const unknown = claimedProfileIssues({
      resourceType: 'Practitioner',
      meta: { profile: ['https://example.org/StructureDefinition/other'] },
    });
    expect(unknown.map((i) => [i.severity, i.expression?.[0]])).toEqual([
      ['information', 'Practitioner.meta.profile[0]'],
    ]);
  });
});
