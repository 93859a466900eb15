import type { Bundle } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { validateMappedBundle } from '../../src/pipeline/validate-stage.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';

const model = loadFhirModel();
const BASE = 'https://county-hie.org/fhir';
const NID = 'urn:oid:2.16.156.10011.1.3';
const VERIFICATION = `${BASE}/StructureDefinition/identifier-verification`;

function bundleOf(...resources: Record<string, unknown>[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      resource: resource as never,
      request: { method: 'POST', url: String(resource.resourceType) },
    })),
  };
}

const patient = (value: string, extension?: unknown[]) => ({
  resourceType: 'Patient',
  name: [{ text: '王秀英' }],
  gender: 'female',
  identifier: [{ system: NID, value, ...(extension ? { extension } : {}) }],
});

const encounter = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Encounter',
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000001' },
  period: { start: '2026-03-01T09:30:00+08:00' },
  ...extra,
});

describe('the validate stage on /ingest', () => {
  it('enforces the region profile of each entry: an Encounter without its institution is an error at its place', () => {
    const problems = validateMappedBundle(model, bundleOf(patient('11010519491231002X'), encounter()));
    const errors = problems.filter((p) => p.severity === 'error');
    expect(errors.map((p) => p.expression)).toEqual(['Bundle.entry[1].resource.serviceProvider']);
    expect(errors[0]!.text).toContain(`${BASE}/StructureDefinition/hie-encounter`);
  });

  it('passes a bundle that conforms, with no problem at all', () => {
    const good = bundleOf(
      patient('11010519491231002X'),
      encounter({ serviceProvider: { reference: 'Organization/county-peoples-hospital' } }),
    );
    expect(validateMappedBundle(model, good)).toEqual([]);
  });

  it('tags a failing national ID unverified and warns once, without refusing the message', () => {
    const bundle = bundleOf(patient('110105194912310021'));
    const problems = validateMappedBundle(model, bundle);
    expect(problems.map((p) => [p.severity, p.expression])).toEqual([
      ['warning', 'Bundle.entry[0].resource.identifier[0].value'],
    ]);
    const identifier = (bundle.entry![0]!.resource as any).identifier[0];
    expect(identifier.extension).toEqual([{ url: VERIFICATION, valueCode: 'unverified' }]);
  });

  it('leaves an ID the mapping already tagged (and reported) alone', () => {
    const tagged = [{ url: VERIFICATION, valueCode: 'unverified' }];
    const bundle = bundleOf(patient('110105194912310021', tagged));
    expect(validateMappedBundle(model, bundle)).toEqual([]);
    expect((bundle.entry![0]!.resource as any).identifier[0].extension).toEqual(tagged);
  });

  it('uses the canonical base it is given for the tag', () => {
    const bundle = bundleOf(patient('110105194912310021'));
    validateMappedBundle(model, bundle, { canonicalBase: 'https://hie.example.cn/fhir' });
    expect((bundle.entry![0]!.resource as any).identifier[0].extension[0].url).toBe(
      'https://hie.example.cn/fhir/StructureDefinition/identifier-verification',
    );
  });
});
