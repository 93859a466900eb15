import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { BASE, IDENTIFIER_VERIFICATION } from './terminology.ts';

/**
 * The region's profiles as differentials; `build.ts` unfolds each onto the base R4 snapshot and
 * writes the JSON the server loads. Constraints stop where real feeds stop: village clinics send
 * no national ID and a visit may still be open, so neither is required.
 */

export const NATIONAL_ID_SYSTEM = 'urn:oid:2.16.156.10011.1.3';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const weightedSum = WEIGHTS.map((w, i) => `value.substring(${i}, 1).toInteger() * ${w}`).join(' + ');

/** ISO 7064 MOD 11-2: the 18th character is '10X98765432'[Σ digit×weight mod 11]. */
export const NATIONAL_ID_CHECK_DIGIT = `value.matches('^[0-9]{17}[0-9X]$') implies ('10X98765432'.substring((${weightedSum}) mod 11, 1) = value.substring(17, 1))`;

type Diff = Omit<ElementDefinition, 'path'> & { id: string };

function profile(type: string, title: string, description: string, elements: Diff[]): StructureDefinition {
  const id = `hie-${type.toLowerCase()}`;
  return {
    resourceType: 'StructureDefinition',
    id,
    url: `${BASE}/StructureDefinition/${id}`,
    version: '1.0.0',
    name: `Hie${type}`,
    title,
    status: 'active',
    experimental: false,
    publisher: 'County HIE',
    description,
    fhirVersion: '4.0.1',
    kind: type === 'Extension' ? 'complex-type' : 'resource',
    abstract: false,
    type,
    baseDefinition: `http://hl7.org/fhir/StructureDefinition/${type}`,
    derivation: 'constraint',
    // The root element first: a differential starts with the type itself (R4 sdf-8a).
    differential: {
      element: [...elements.filter((e) => e.id === type), ...elements.filter((e) => e.id !== type)].map(
        (e) => ({
          ...e,
          path: pathOf(e.id),
        }),
      ),
    },
  };
}

function pathOf(id: string): string {
  return id
    .split('.')
    .map((p) => p.split(':')[0])
    .join('.');
}

function extension(
  id: string,
  title: string,
  description: string,
  context: string[],
  value: Diff,
): StructureDefinition {
  const sd = profile('Extension', title, description, [
    { id: 'Extension.url', fixedUri: `${BASE}/StructureDefinition/${id}` },
    value,
  ]);
  return {
    ...sd,
    id,
    url: `${BASE}/StructureDefinition/${id}`,
    name: id.replace(/(^|-)(\w)/g, (_, _d: string, c: string) => c.toUpperCase()),
    context: context.map((expression) => ({ type: 'element', expression })),
  };
}

const required = (valueSet: string) => ({ strength: 'required' as const, valueSet });
const reference = (...targets: string[]) => [
  { code: 'Reference', targetProfile: targets.map((t) => `http://hl7.org/fhir/StructureDefinition/${t}`) },
];

export const EXTENSIONS: StructureDefinition[] = [
  extension(
    'identifier-verification',
    'Identifier verification',
    "Set to `unverified` on an identifier that fails its system's checks: it is kept and never used to link.",
    ['Identifier'],
    {
      id: 'Extension.value[x]',
      min: 1,
      type: [{ code: 'code' }],
      binding: required(`${BASE}/ValueSet/${IDENTIFIER_VERIFICATION.id}`),
    },
  ),
  extension(
    'administrative-division',
    'Administrative division code',
    "The GB/T 2260 code of the address's county-level division (6 digits), or its township (9) or village (12).",
    ['Address'],
    {
      id: 'Extension.value[x]',
      min: 1,
      type: [{ code: 'code' }],
      constraint: [
        {
          key: 'hie-div-1',
          severity: 'error',
          human: 'An administrative division code has 6, 9 or 12 digits',
          expression: "matches('^[0-9]{6}([0-9]{3}([0-9]{3})?)?$')",
        },
      ],
    },
  ),
];

const DIVISION = `${BASE}/StructureDefinition/administrative-division`;

export const PROFILES: StructureDefinition[] = [
  profile('Patient', 'Region Patient', 'A resident as one member institution records them.', [
    {
      id: 'Patient.identifier',
      slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open', ordered: false },
    },
    {
      id: 'Patient.identifier:nationalId',
      min: 0,
      max: '1',
      short: 'National resident ID (居民身份证号)',
      constraint: [
        {
          key: 'hie-nid-2',
          severity: 'warning',
          human:
            'The national resident ID fails its ISO 7064 MOD 11-2 check digit: kept as unverified, never used to link',
          expression: NATIONAL_ID_CHECK_DIGIT,
        },
      ],
    },
    { id: 'Patient.identifier:nationalId.system', min: 1, fixedUri: NATIONAL_ID_SYSTEM },
    {
      id: 'Patient.identifier:nationalId.value',
      min: 1,
      constraint: [
        {
          key: 'hie-nid-1',
          severity: 'warning',
          human:
            'A national resident ID has 18 characters (17 digits and a digit or X), or 15 digits (legacy)',
          expression: "matches('^([0-9]{17}[0-9X]|[0-9]{15})$')",
        },
      ],
    },
    { id: 'Patient.name', min: 1 },
    {
      id: 'Patient',
      constraint: [
        {
          // A warning, not 1..1: FHIR senders (the referral platform) omit an unknown gender.
          key: 'hie-pat-1',
          severity: 'warning',
          human: "A Patient states its gender ('unknown' when it is not known)",
          expression: 'gender.exists()',
        },
      ],
    },
    {
      id: 'Patient.address',
      constraint: [
        {
          key: 'hie-addr-1',
          severity: 'error',
          human: 'At most one administrative division code per address, of 6, 9 or 12 digits',
          expression: `extension.where(url = '${DIVISION}').count() <= 1 and extension.where(url = '${DIVISION}').all(value.ofType(code).matches('^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'))`,
        },
      ],
    },
  ]),
  profile('Encounter', 'Region Encounter', 'A visit or stay at a member institution.', [
    { id: 'Encounter.subject', min: 1 },
    { id: 'Encounter.serviceProvider', min: 1 },
    {
      id: 'Encounter',
      constraint: [
        {
          // A warning: FHIR senders omit the period of a visit they only reference; the HL7 v2
          // mappings always set its start (PV1-44, EVN-6 or EVN-2). An open visit has no end.
          key: 'hie-enc-1',
          severity: 'warning',
          human: 'An Encounter that took place states when it began (period.start)',
          expression:
            "(status = 'planned' or status = 'cancelled' or status = 'entered-in-error') or period.start.exists()",
        },
      ],
    },
  ]),
  profile('Observation', 'Region Observation', 'A vital sign, lab result or other measurement.', [
    { id: 'Observation.subject', min: 1, type: reference('Patient') },
    { id: 'Observation.effective[x]', min: 1 },
  ]),
  profile(
    'Organization',
    'Region member institution',
    'A member institution of the county medical community, typed with its tier.',
    [
      { id: 'Organization.identifier', min: 1 },
      { id: 'Organization.name', min: 1 },
      {
        id: 'Organization',
        constraint: [
          {
            key: 'hie-org-1',
            severity: 'error',
            human:
              'A member institution states its tier (a type coding from the institution-tier CodeSystem)',
            expression: `type.coding.where(system = '${BASE}/CodeSystem/institution-tier').exists()`,
          },
          {
            key: 'hie-org-2',
            severity: 'error',
            human: 'The tier is one of the institution-tier codes',
            expression: `type.coding.where(system = '${BASE}/CodeSystem/institution-tier').all(code in ('county-hospital' | 'township-health-centre' | 'community-health-centre' | 'village-clinic' | 'shared-centre'))`,
          },
        ],
      },
    ],
  ),
  profile('Condition', 'Region Condition', 'A diagnosis or problem.', [
    { id: 'Condition.code', min: 1 },
    { id: 'Condition.subject', type: reference('Patient') },
  ]),
  profile('Practitioner', 'Region Practitioner', 'A clinician of a member institution.', [
    { id: 'Practitioner.name', min: 1 },
  ]),
  profile('PractitionerRole', 'Region PractitionerRole', 'A clinician at one member institution.', [
    { id: 'PractitionerRole.practitioner', min: 1 },
    { id: 'PractitionerRole.organization', min: 1 },
  ]),
  profile('MedicationRequest', 'Region MedicationRequest', 'A prescription.', [
    { id: 'MedicationRequest.subject', type: reference('Patient') },
    { id: 'MedicationRequest.authoredOn', min: 1 },
  ]),
  profile('DiagnosticReport', 'Region DiagnosticReport', 'A lab, ECG, imaging or pathology report.', [
    { id: 'DiagnosticReport.subject', min: 1, type: reference('Patient') },
    { id: 'DiagnosticReport.effective[x]', min: 1 },
  ]),
  profile('ImagingStudy', 'Region ImagingStudy', 'An imaging study at the shared imaging centre.', [
    { id: 'ImagingStudy.subject', type: reference('Patient') },
    { id: 'ImagingStudy.started', min: 1 },
  ]),
  profile('ServiceRequest', 'Region ServiceRequest', 'A referral or an order to a shared centre.', [
    { id: 'ServiceRequest.code', min: 1 },
    { id: 'ServiceRequest.subject', type: reference('Patient') },
    { id: 'ServiceRequest.authoredOn', min: 1 },
  ]),
  profile('Immunization', 'Region Immunization', 'A vaccination.', [
    { id: 'Immunization.occurrence[x]', type: [{ code: 'dateTime' }] },
  ]),
  profile('AllergyIntolerance', 'Region AllergyIntolerance', 'An allergy or intolerance.', [
    { id: 'AllergyIntolerance.code', min: 1 },
    { id: 'AllergyIntolerance.patient', type: reference('Patient') },
  ]),
];
