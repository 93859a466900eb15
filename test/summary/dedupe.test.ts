import { describe, expect, it } from 'vitest';
import { dedupe, loadRecognitionList, narrativeLanguage, recognisedItemOf } from '../../src/summary/index.ts';

const ICD = 'http://hl7.org/fhir/sid/icd-10';
const cond = (id: string, system: string, code: string) => ({
  resourceType: 'Condition',
  id,
  code: { coding: [{ system, code }] },
});
const obs = (id: string, at: string, value: number, unit = 'mmol/L') => ({
  resourceType: 'Observation',
  id,
  code: { coding: [{ system: 'http://loinc.org', code: '14749-6' }] },
  effectiveDateTime: at,
  valueQuantity: { value, unit, code: unit },
});

describe('the same fact from two institutions', () => {
  it('joins Conditions by ICD-10 code across the WHO and clinical editions and through ConceptMaps', () => {
    const translations = new Map([['https://county-hie.org/fhir/CodeSystem/local/v1/dx|GXY', 'I10']]);
    const facts = dedupe(
      [
        cond('a', ICD, 'I10'),
        cond('b', 'https://county-hie.org/fhir/CodeSystem/icd10-cn', 'I10.x00'),
        cond('c', 'https://county-hie.org/fhir/CodeSystem/local/v1/dx', 'GXY'),
        cond('d', ICD, 'E11.9'),
        cond('e', 'https://county-hie.org/fhir/CodeSystem/local/v1/dx', 'TNB'),
      ],
      translations,
    );
    expect(facts.map((f) => [f.resource.id, f.reportedBy.map((r) => r.id)])).toEqual([
      ['a', ['a', 'b', 'c']],
      ['d', ['d']],
      ['e', ['e']],
    ]);
  });

  it('joins Observations only when code, time and value with unit agree', () => {
    const facts = dedupe([
      obs('a', '2026-10-01T08:00:00+08:00', 7.2),
      obs('b', '2026-10-01T08:00:00+08:00', 7.2),
      obs('c', '2026-10-01T08:00:00+08:00', 7.3),
      obs('d', '2026-10-02T08:00:00+08:00', 7.2),
      obs('e', '2026-10-01T08:00:00+08:00', 7.2, 'mg/dL'),
    ]);
    expect(facts.map((f) => f.reportedBy.map((r) => r.id))).toEqual([['a', 'b'], ['c'], ['d'], ['e']]);
  });

  it('joins immunizations by vaccine and day, medication requests by drug and day', () => {
    const imm = (id: string, day: string) => ({
      resourceType: 'Immunization',
      id,
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '141' }] },
      occurrenceDateTime: day,
    });
    const med = (id: string, day: string) => ({
      resourceType: 'MedicationRequest',
      id,
      medicationCodeableConcept: { coding: [{ system: 'x', code: 'XC08CAA001' }] },
      authoredOn: day,
    });
    expect(
      dedupe([imm('a', '2026-10-10'), imm('b', '2026-10-10T09:00:00+08:00'), imm('c', '2025-10-10')]).length,
    ).toBe(2);
    expect(dedupe([med('a', '2026-10-01'), med('b', '2026-10-01'), med('c', '2026-10-02')]).length).toBe(2);
  });
});

describe('mutual recognition list', () => {
  it('ships at least ten items, lab panels and imaging, with windows defaulting to the configured days', () => {
    const list = loadRecognitionList(30);
    expect(list.items.length).toBeGreaterThanOrEqual(10);
    expect(list.version).toBeGreaterThanOrEqual(1);
    for (const id of [
      'cbc',
      'basic-metabolic',
      'liver-function',
      'lipid-panel',
      'hba1c',
      'urinalysis',
      'chest-xray',
    ])
      expect(list.items.map((i) => i.id)).toContain(id);
    expect(list.items.find((i) => i.id === 'ecg')!.windowDays).toBe(30);
    expect(loadRecognitionList(5).items.find((i) => i.id === 'ecg')!.windowDays).toBe(5);
    expect(recognisedItemOf(list, { coding: [{ system: 'local', code: 'RAD-CT-HEAD' }] })?.id).toBe(
      'head-ct',
    );
    expect(
      recognisedItemOf(list, { coding: [{ system: 'http://loinc.org', code: '2339-0' }] }),
    ).toBeUndefined();
  });
});

describe('narrative language', () => {
  it('is Chinese unless English is preferred', () => {
    expect(narrativeLanguage(undefined)).toBe('zh');
    expect(narrativeLanguage('en')).toBe('en');
    expect(narrativeLanguage('zh-CN,en;q=0.8')).toBe('zh');
    expect(narrativeLanguage('fr,en;q=0.5,zh;q=0.4')).toBe('en');
    expect(narrativeLanguage('en;q=0.2,zh-TW;q=0.9')).toBe('zh');
  });
});
