import type {
  CodedItem,
  ContractEvent,
  ImmunizationEvent,
  LabReportEvent,
  ReadReportEvent,
  ReferralEvent,
  Registration,
  VisitEvent,
  VitalSign,
} from '../../types.ts';

/**
 * The FHIR resources a modern member system sends for one care event, as it would keep them:
 * its own logical ids (the exchange keys them as `{base}/sid/source-id/{institution}|{id}`),
 * references by `Type/id` inside the Bundle and to registry Organizations by institution id.
 * Plain object literals, so key order is fixed.
 */
export interface FhirContext {
  base: string;
  institutionId: string;
  patientId: string;
  /** The directory practitioner responsible for the event, when known (by 工号). */
  doctor?: { staffNo: string; name: string };
}

type Resource = Record<string, unknown> & { resourceType: string; id: string };

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const NATIONAL_ID = 'urn:oid:2.16.156.10011.1.3';
const SNOMED = 'http://snomed.info/sct';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

/** A FHIR id from a source number: characters outside `[A-Za-z0-9-.]` become `-`, at most 64. */
export function fhirId(text: string): string {
  return text.replace(/[^A-Za-z0-9\-.]/g, '-').slice(0, 64);
}

export function codeSystem(item: CodedItem, ctx: FhirContext, table: string): string {
  switch (item.system) {
    case 'icd-10':
      return 'http://hl7.org/fhir/sid/icd-10';
    case 'loinc':
      return LOINC;
    case 'snomed':
      return SNOMED;
    case 'cvx':
      return 'http://hl7.org/fhir/sid/cvx';
    case 'drug-cn':
      return `${ctx.base}/CodeSystem/drug-cn`;
    case 'local':
      return `${ctx.base}/CodeSystem/local/${ctx.institutionId}/${table}`;
  }
}

function concept(item: CodedItem, ctx: FhirContext, table: string) {
  return {
    coding: [{ system: codeSystem(item, ctx, table), code: item.code, display: item.name }],
    text: item.name,
  };
}

const ref = (type: string, id: string) => ({ reference: `${type}/${id}` });
const organization = (id: string) => ({ reference: `Organization/${id}` });

/**
 * The directory's practitioner, by the id the exchange gives it (`doctor-{工号}` in the sender's
 * source-id system): referred to, never carried, so the directory's record is not overwritten.
 */
const doctorRef = (staffNo: string, name?: string) => ({
  ...ref('Practitioner', fhirId(`doctor-${staffNo}`)),
  display: name,
});

export function patientResource(reg: Registration, ctx: FhirContext): Resource {
  const identifier: Record<string, unknown>[] = [
    {
      use: 'usual',
      type: { coding: [{ system: V2_0203, code: 'MR' }] },
      system: `${ctx.base}/sid/mrn/${ctx.institutionId}`,
      value: reg.mrn,
    },
  ];
  if (reg.nationalId)
    identifier.push({
      use: 'official',
      type: { coding: [{ system: V2_0203, code: 'NI' }] },
      system: NATIONAL_ID,
      value: reg.nationalId,
    });
  if (reg.insuranceNumber)
    identifier.push({ system: `${ctx.base}/sid/insurance`, value: reg.insuranceNumber });
  return {
    resourceType: 'Patient',
    id: ctx.patientId,
    identifier,
    name: [{ text: reg.name }],
    telecom: reg.phone ? [{ system: 'phone', value: reg.phone }] : undefined,
    gender: reg.sex,
    birthDate: reg.birthDate,
    address: reg.addressText ? [{ text: reg.addressText }] : undefined,
    managingOrganization: organization(ctx.institutionId),
  };
}

const ENCOUNTER_CLASS = {
  outpatient: { code: 'AMB', display: 'ambulatory' },
  inpatient: { code: 'IMP', display: 'inpatient encounter' },
  emergency: { code: 'EMER', display: 'emergency' },
} as const;

/** UCUM codes of the units the care generator writes; others are sent as text only. */
const UCUM_CODES: Record<string, string> = {
  mmHg: 'mm[Hg]',
  'mm[Hg]': 'mm[Hg]',
  kg: 'kg',
  cm: 'cm',
  '℃': 'Cel',
  '°C': 'Cel',
  Cel: 'Cel',
  bpm: '/min',
  '次/分': '/min',
  '/min': '/min',
  'mmol/L': 'mmol/L',
};

function quantity(value: number, unit: string) {
  const code = UCUM_CODES[unit];
  return code ? { value, unit, system: UCUM, code } : { value, unit };
}

const VITAL_CODES: Record<Exclude<VitalSign['kind'], 'systolic' | 'diastolic'>, [string, string]> = {
  weight: ['29463-7', 'Body weight'],
  height: ['8302-2', 'Body height'],
  temperature: ['8310-5', 'Body temperature'],
  'heart-rate': ['8867-4', 'Heart rate'],
  'fasting-glucose': ['1558-6', 'Fasting glucose [Moles/volume] in Serum or Plasma'],
};

const category = (system: string, code: string) => [{ coding: [{ system, code }] }];
const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

export function visitResources(v: VisitEvent, ctx: FhirContext): Resource[] {
  const subject = ref('Patient', ctx.patientId);
  const encounterId = fhirId(v.id);
  const encounter = ref('Encounter', encounterId);
  const out: Resource[] = [
    {
      resourceType: 'Encounter',
      id: encounterId,
      identifier: [{ system: `${ctx.base}/sid/visit/${ctx.institutionId}`, value: v.id }],
      status: v.setting === 'inpatient' && !v.end ? 'in-progress' : 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', ...ENCOUNTER_CLASS[v.setting] },
      type: v.department ? [{ text: v.department }] : undefined,
      subject,
      participant: ctx.doctor ? [{ individual: doctorRef(ctx.doctor.staffNo, ctx.doctor.name) }] : undefined,
      period: { start: v.time, end: v.end },
      // CONTRACTS "Where a resource came from": the care-relationship rule reads it.
      serviceProvider: organization(ctx.institutionId),
    },
  ];
  const systolic = v.vitals.find((s) => s.kind === 'systolic');
  const diastolic = v.vitals.find((s) => s.kind === 'diastolic');
  if (systolic && diastolic) {
    out.push({
      resourceType: 'Observation',
      id: fhirId(`${v.id}-bp`),
      status: 'final',
      category: category(OBS_CATEGORY, 'vital-signs'),
      code: {
        coding: [
          { system: LOINC, code: '85354-9', display: 'Blood pressure panel with all children optional' },
        ],
        text: '血压',
      },
      subject,
      encounter,
      effectiveDateTime: v.time,
      component: [
        {
          code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] },
          valueQuantity: quantity(systolic.value, systolic.unit),
        },
        {
          code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] },
          valueQuantity: quantity(diastolic.value, diastolic.unit),
        },
      ],
    });
  }
  for (const s of v.vitals) {
    if (s.kind === 'systolic' || s.kind === 'diastolic') continue;
    const [code, display] = VITAL_CODES[s.kind];
    out.push({
      resourceType: 'Observation',
      id: fhirId(`${v.id}-${s.kind}`),
      status: 'final',
      category: category(OBS_CATEGORY, s.kind === 'fasting-glucose' ? 'laboratory' : 'vital-signs'),
      code: { coding: [{ system: LOINC, code, display }] },
      subject,
      encounter,
      effectiveDateTime: v.time,
      valueQuantity: quantity(s.value, s.unit),
    });
  }
  v.diagnoses.forEach((d, i) =>
    out.push({
      resourceType: 'Condition',
      id: fhirId(`${v.id}-dx-${i + 1}`),
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      },
      category: category('http://terminology.hl7.org/CodeSystem/condition-category', 'encounter-diagnosis'),
      code: concept(d, ctx, 'diagnosis'),
      subject,
      encounter,
      recordedDate: v.time,
    }),
  );
  v.prescriptions.forEach((p, i) =>
    out.push({
      resourceType: 'MedicationRequest',
      id: fhirId(`${v.id}-rx-${i + 1}`),
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: concept(p.drug, ctx, 'drug'),
      subject,
      encounter,
      authoredOn: v.time,
      requester: ctx.doctor
        ? doctorRef(ctx.doctor.staffNo, ctx.doctor.name)
        : organization(ctx.institutionId),
      dosageInstruction: [
        {
          text: `${p.dose}${p.doseUnit} ${p.frequency}`,
          timing: { code: { text: p.frequency }, repeat: timesADay(p.frequency) },
          asNeededBoolean: p.frequency === 'prn' ? true : undefined,
          doseAndRate: [{ doseQuantity: quantity(p.dose, p.doseUnit) }],
        },
      ],
      dispenseRequest: { expectedSupplyDuration: { value: p.days, unit: 'd', system: UCUM, code: 'd' } },
    }),
  );
  return out;
}

function timesADay(frequency: string) {
  const n = ({ qd: 1, qn: 1, bid: 2, tid: 3, qid: 4 } as Record<string, number>)[frequency];
  return n === undefined ? undefined : { frequency: n, period: 1, periodUnit: 'd' };
}

const V2_0074 = 'http://terminology.hl7.org/CodeSystem/v2-0074';
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

export function labReportResources(e: LabReportEvent, ctx: FhirContext): Resource[] {
  const subject = ref('Patient', ctx.patientId);
  const results: Resource[] = e.results.map((r, i) => ({
    resourceType: 'Observation',
    id: fhirId(`${e.id}-${i + 1}`),
    status: 'final',
    category: category(OBS_CATEGORY, 'laboratory'),
    code: concept(r.item, ctx, 'lab'),
    subject,
    effectiveDateTime: e.specimenTime,
    issued: e.time,
    valueQuantity: typeof r.value === 'number' ? quantity(r.value, r.unit ?? '') : undefined,
    valueString: typeof r.value === 'string' ? r.value : undefined,
    interpretation: r.flag ? [{ coding: [{ system: INTERPRETATION, code: r.flag }] }] : undefined,
    referenceRange:
      r.low !== undefined || r.high !== undefined
        ? [
            {
              low: r.low !== undefined ? quantity(r.low, r.unit ?? '') : undefined,
              high: r.high !== undefined ? quantity(r.high, r.unit ?? '') : undefined,
            },
          ]
        : undefined,
  }));
  return [
    {
      resourceType: 'DiagnosticReport',
      id: fhirId(e.id),
      status: 'final',
      category: category(V2_0074, 'LAB'),
      code: concept(e.panel, ctx, 'lab'),
      subject,
      effectiveDateTime: e.specimenTime,
      issued: e.time,
      performer: [organization(ctx.institutionId)],
      result: results.map((r) => ref('Observation', r.id)),
    },
    ...results,
  ];
}

const READ_SECTION = { 'ecg-report': 'EC', 'imaging-report': 'RAD', 'pathology-report': 'SP' } as const;

export function readReportResources(e: ReadReportEvent, ctx: FhirContext): Resource[] {
  return [
    {
      resourceType: 'DiagnosticReport',
      id: fhirId(e.id),
      status: 'final',
      category: category(V2_0074, READ_SECTION[e.kind]),
      code: concept(e.procedure, ctx, 'procedure'),
      subject: ref('Patient', ctx.patientId),
      effectiveDateTime: e.time,
      issued: e.time,
      performer: [organization(ctx.institutionId)],
      conclusion: e.conclusion,
      presentedForm: [
        {
          contentType: 'text/plain; charset=utf-8',
          language: 'zh-CN',
          data: Buffer.from(e.findings, 'utf8').toString('base64'),
          title: '检查所见',
        },
      ],
    },
  ];
}

export const REFERRAL_CATEGORY = { system: SNOMED, code: '3457005', display: 'Patient referral' };

export function referralResources(e: ReferralEvent, ctx: FhirContext): Resource[] {
  return [
    {
      resourceType: 'ServiceRequest',
      id: fhirId(e.id),
      status: e.status,
      intent: 'order',
      category: [{ coding: [REFERRAL_CATEGORY], text: '转诊' }],
      code: { coding: [REFERRAL_CATEGORY], text: e.direction === 'up' ? '上转' : '下转' },
      subject: ref('Patient', ctx.patientId),
      authoredOn: e.time,
      requester: ctx.doctor
        ? doctorRef(ctx.doctor.staffNo, ctx.doctor.name)
        : organization(ctx.institutionId),
      performer: [organization(e.to)],
      reasonCode: [concept(e.reason, ctx, 'diagnosis')],
      note: e.note ? [{ text: e.note }] : undefined,
    },
  ];
}

export function immunizationResources(e: ImmunizationEvent, ctx: FhirContext): Resource[] {
  return [
    {
      resourceType: 'Immunization',
      id: fhirId(e.id),
      status: 'completed',
      vaccineCode: concept(e.vaccine, ctx, 'vaccine'),
      patient: ref('Patient', ctx.patientId),
      occurrenceDateTime: e.time,
      primarySource: true,
      lotNumber: e.lotNumber,
      performer: [{ actor: organization(ctx.institutionId) }],
      protocolApplied: [{ doseNumberPositiveInt: e.doseNumber }],
    },
  ];
}

/**
 * The contract as CONTRACTS.md "Access, consent, audit" shapes it: EpisodeOfCare + CareTeam. The
 * doctor is the directory's practitioner, which the exchange already holds as
 * `{base}/sid/source-id/{institution}|doctor-{工号}`: the Bundle refers to `Practitioner/doctor-{工号}`
 * without carrying it, so the FHIR stage turns that into a conditional reference to the
 * directory's record instead of writing a name-only Practitioner over it.
 */
export function contractResources(e: ContractEvent, ctx: FhirContext, doctorName?: string): Resource[] {
  const doctor = doctorRef(e.doctorStaffNo, doctorName);
  const teamId = fhirId(`team-${e.teamNo}-${e.id}`);
  const period = { start: e.start, end: e.end };
  return [
    {
      resourceType: 'EpisodeOfCare',
      id: fhirId(`contract-${e.id}`),
      status: e.status,
      type: [
        {
          coding: [{ system: `${ctx.base}/CodeSystem/episode-type`, code: 'family-doctor-contract' }],
          text: '家庭医生签约',
        },
        { text: e.servicePackage },
      ],
      patient: ref('Patient', ctx.patientId),
      managingOrganization: organization(ctx.institutionId),
      period,
      careManager: doctor,
      team: [ref('CareTeam', teamId)],
    },
    {
      resourceType: 'CareTeam',
      id: teamId,
      status: e.status === 'active' ? 'active' : 'inactive',
      category: [
        {
          coding: [
            { system: LOINC, code: 'LA28865-6', display: 'Longitudinal care-coordination focused care team' },
          ],
        },
      ],
      name: `家庭医生团队 ${e.teamNo}`,
      subject: ref('Patient', ctx.patientId),
      period,
      participant: [
        {
          role: [{ text: '家庭医生' }],
          member: doctor,
          onBehalfOf: organization(ctx.institutionId),
        },
      ],
      managingOrganization: [organization(ctx.institutionId)],
    },
  ];
}
