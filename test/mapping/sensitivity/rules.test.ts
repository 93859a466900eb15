import type { Bundle, Resource } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  labelBundle,
  labelResource,
  loadSensitivityRules,
  type SensitivityRules,
} from '../../../src/mapping/sensitivity/index.ts';
import { ATC, CONF, ICD10, ICD10_CN, LOINC, R, SCT, condition, label, security } from './helpers.ts';

let rules: SensitivityRules;
beforeAll(() => {
  rules = loadSensitivityRules();
});

const observation = (system: string, code: string) =>
  ({ resourceType: 'Observation', status: 'final', code: { coding: [{ system, code }] } }) as Resource;
const medicationRequest = (code: string) =>
  ({
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    subject: { reference: 'urn:uuid:p' },
    medicationCodeableConcept: { coding: [{ system: ATC, code }] },
  }) as Resource;

/**
 * One case per shipped rule: resources that must get exactly the rule's label and R, and
 * near misses that must not get that label (some get another rule's label, said in `others`).
 */
const CASES: {
  rule: string;
  label: string;
  hits: Resource[];
  misses: { resource: Resource; others?: string[] }[];
}[] = [
  {
    rule: 'hiv-diagnosis',
    label: 'HIV',
    hits: [
      condition(ICD10, 'B20.1'),
      condition(ICD10, 'b24'),
      condition(ICD10_CN, 'Z21.x00'),
      condition(ICD10, 'Z20.6'),
      condition(SCT, '86406008'),
      {
        resourceType: 'Encounter',
        status: 'finished',
        class: { code: 'AMB' },
        reasonCode: [{ coding: [{ system: ICD10, code: 'Z71.7' }] }],
      } as Resource,
    ],
    misses: [
      { resource: condition(ICD10, 'B25.0') }, // cytomegaloviral disease, next to B24
      { resource: condition(ICD10, 'Z20.5') }, // contact with viral hepatitis, next to Z20.6
      { resource: condition(LOINC, 'B20') }, // right code, wrong system
    ],
  },
  {
    rule: 'hiv-lab-test',
    label: 'HIV',
    hits: [
      observation(LOINC, '7917-8'),
      observation(LOINC, '56888-1'),
      {
        resourceType: 'DiagnosticReport',
        status: 'final',
        code: { coding: [{ system: LOINC, code: '75622-1' }] },
      } as Resource,
      {
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: 'urn:uuid:p' },
        code: { coding: [{ system: LOINC, code: '25836-8' }] },
      } as Resource,
    ],
    misses: [
      { resource: observation(LOINC, '2345-7') }, // glucose
      { resource: observation(LOINC, '7917-80') }, // LOINC codes match exactly, not as prefixes
      { resource: observation(SCT, '7917-8') },
    ],
  },
  {
    rule: 'hiv-antiretroviral',
    label: 'HIV',
    hits: [
      medicationRequest('J05AG01'),
      medicationRequest('J05AR'),
      { resourceType: 'Medication', code: { coding: [{ system: ATC, code: 'J05AJ03' }] } } as Resource,
    ],
    // Entecavir (hepatitis B) sits in J05AF, which the table leaves out on purpose.
    misses: [{ resource: medicationRequest('J05AF10') }, { resource: medicationRequest('J05AB01') }],
  },
  {
    rule: 'psy-diagnosis',
    label: 'PSY',
    hits: [
      condition(ICD10, 'F32.9'),
      condition(ICD10_CN, 'F20.000'),
      condition(ICD10, 'F00.0'),
      condition(ICD10, 'F99'),
      condition(SCT, '35489007'),
    ],
    misses: [
      { resource: condition(ICD10, 'G30.9') }, // Alzheimer disease is a nervous-system code
      { resource: condition(ICD10, 'E99') },
      { resource: condition(ICD10, 'F10.2'), others: ['ETH'] }, // substance use: ETH, not PSY
    ],
  },
  {
    rule: 'sex-diagnosis',
    label: 'SEX',
    hits: [
      condition(ICD10, 'A53.9'),
      condition(ICD10, 'A50'),
      condition(ICD10_CN, 'A64.x00'),
      condition(SCT, '76272004'),
    ],
    misses: [
      { resource: condition(ICD10, 'A49.9') }, // bacterial infection, unspecified site
      { resource: condition(ICD10, 'A65') }, // nonvenereal syphilis
    ],
  },
  {
    rule: 'eth-substance-use',
    label: 'ETH',
    hits: [
      condition(ICD10, 'F10.2'),
      condition(ICD10, 'F19'),
      condition(ICD10_CN, 'F11.200'),
      condition(SCT, '66590003'),
    ],
    misses: [
      { resource: condition(ICD10, 'F09'), others: ['PSY'] },
      { resource: condition(ICD10, 'F20.0'), others: ['PSY'] },
      { resource: condition(ICD10, 'Z72.0') }, // tobacco use: not in the table
    ],
  },
];

describe('shipped rule table', () => {
  it('is version 1 and every rule has a case here', () => {
    expect(rules.version).toBe(1);
    expect(rules.rules.map((r) => r.id).sort()).toEqual(CASES.map((c) => c.rule).sort());
  });

  describe.each(CASES)('$rule', (c) => {
    it.each(c.hits.map((r) => [JSON.stringify(r.resourceType === 'Condition' ? (r as any).code : r), r]))(
      'labels %s with exactly its label and R',
      (_name, resource) => {
        const r = structuredClone(resource);
        expect(labelResource(r, rules)).toEqual({ labelled: 1, added: 2 });
        expect(security(r)).toEqual([label(c.label), R].sort());
      },
    );
    it.each(
      c.misses.map((m) => [
        JSON.stringify((m.resource as any).code ?? (m.resource as any).medicationCodeableConcept),
        m,
      ]),
    )('does not label %s with it', (_name, m) => {
      const r = structuredClone(m.resource);
      labelResource(r, rules);
      const expected = m.others ? [...m.others.map(label), R].sort() : [];
      expect(security(r)).toEqual(expected);
    });
  });
});

describe('labelBundle', () => {
  it('keeps existing codings and adds no duplicates; twice adds nothing', () => {
    const r = condition(ICD10, 'B20') as Resource & { meta?: any };
    r.meta = {
      source: 'x',
      security: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST' },
        { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' },
      ],
    };
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ fullUrl: 'urn:uuid:1', resource: r }],
    };
    expect(labelBundle(bundle, rules)).toEqual({ labelled: 1, added: 1 });
    expect(r.meta.source).toBe('x');
    expect(security(r)).toEqual(
      ['http://terminology.hl7.org/CodeSystem/v3-ActReason|HTEST', label('HIV'), R].sort(),
    );
    const once = structuredClone(bundle);
    expect(labelBundle(bundle, rules)).toEqual({ labelled: 1, added: 0 });
    expect(bundle).toEqual(once);
  });

  it('leaves resources no rule matches untouched (no empty meta)', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: condition(ICD10, 'J45') }, { request: { method: 'DELETE', url: 'Condition/1' } }],
    };
    const before = structuredClone(bundle);
    expect(labelBundle(bundle, rules)).toEqual({ labelled: 0, added: 0 });
    expect(bundle).toEqual(before);
  });

  it('a sensitivity label set by the sender earns R too', () => {
    const r = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] },
    } as Resource;
    expect(labelResource(r, rules)).toEqual({ labelled: 1, added: 1 });
    expect(security(r)).toEqual([label('PSY'), R]);
  });

  it('R replaces a lower confidentiality; V is kept without R', () => {
    const normal = condition(ICD10, 'A51') as Resource;
    normal.meta = { security: [{ system: CONF, code: 'N' }] };
    labelResource(normal, rules);
    expect(security(normal)).toEqual([label('SEX'), R].sort());

    const very = condition(ICD10, 'A51') as Resource;
    very.meta = { security: [{ system: CONF, code: 'V' }] };
    labelResource(very, rules);
    expect(security(very)).toEqual([label('SEX'), `${CONF}|V`].sort());
  });

  it('one resource matching two rules gets both labels and one R', () => {
    const r = {
      resourceType: 'Condition',
      subject: { reference: 'urn:uuid:p' },
      code: {
        coding: [
          { system: ICD10, code: 'B20' },
          { system: ICD10, code: 'F32.1' },
        ],
      },
    } as Resource;
    labelResource(r, rules);
    expect(security(r)).toEqual([label('HIV'), label('PSY'), R].sort());
  });
});

describe('propagation inside one Bundle', () => {
  const hivTest = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '7918-6' }] },
  };
  const glucose = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '2345-7' }] },
  };
  const report = (...refs: string[]) => ({
    resourceType: 'DiagnosticReport',
    status: 'final',
    code: { text: 'lab report' },
    result: refs.map((reference) => ({ reference })),
  });

  it('a DiagnosticReport whose result is a labelled Observation is labelled too', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:g', resource: structuredClone(glucose) },
        { fullUrl: 'urn:uuid:h', resource: structuredClone(hivTest) },
        { fullUrl: 'urn:uuid:r', resource: report('urn:uuid:g', 'urn:uuid:h') },
      ],
    } as Bundle;
    expect(labelBundle(bundle, rules)).toEqual({ labelled: 2, added: 4 });
    const [g, h, r] = bundle.entry!.map((e) => e.resource!);
    expect(security(g!)).toEqual([]);
    expect(security(h!)).toEqual([label('HIV'), R]);
    expect(security(r!)).toEqual([label('HIV'), R]);
  });

  it('a report of unlabelled results stays unlabelled; a reference outside the Bundle is ignored', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:g', resource: structuredClone(glucose) },
        { fullUrl: 'urn:uuid:r', resource: report('urn:uuid:g', 'Observation/elsewhere') },
      ],
    } as Bundle;
    expect(labelBundle(bundle, rules)).toEqual({ labelled: 0, added: 0 });
  });

  it('follows chains (report → panel via hasMember → test) and Type/id references', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'https://sender.example/fhir/DiagnosticReport/r1',
          resource: { ...report('Observation/panel'), id: 'r1' },
        },
        {
          resource: {
            resourceType: 'Observation',
            id: 'panel',
            status: 'final',
            code: { text: 'panel' },
            hasMember: [{ reference: 'Observation/t1' }],
          },
        },
        {
          fullUrl: 'https://sender.example/fhir/Observation/t1',
          resource: { ...structuredClone(hivTest), id: 't1' },
        },
      ],
    } as Bundle;
    expect(labelBundle(bundle, rules).labelled).toBe(3);
    for (const e of bundle.entry!) expect(security(e.resource!)).toEqual([label('HIV'), R]);
  });
});
