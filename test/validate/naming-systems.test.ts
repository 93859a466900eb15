import { readFileSync } from 'node:fs';
import { validateResource as medplumValidate } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { validateStructure } from '../../src/repository/validation/index.ts';
import { DEFAULT_PROFILES_DIR, jsonFiles, knownProfiles } from '../../src/validate/profile-registry.ts';

const BASE = 'https://county-hie.org/fhir';
const files = jsonFiles(DEFAULT_PROFILES_DIR);
const resources = files.map((file) => ({ file, json: JSON.parse(readFileSync(file, 'utf8')) }));
const namingSystems = resources.filter((r) => r.json.resourceType === 'NamingSystem').map((r) => r.json);

describe('profiles/', () => {
  it('holds files, and every JSON in it passes base R4 structural validation', () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
    const model = loadFhirModel();
    for (const { file, json } of resources) {
      const errors = validateStructure(model, json).filter((i) => i.severity === 'error');
      expect({ file, errors }).toEqual({ file, errors: [] });
      // A second opinion (Medplum's validator, which also runs the R4 invariants): it throws on errors.
      expect(() => medplumValidate(json)).not.toThrow();
    }
  });

  it('has one NamingSystem per identifier system of CONTRACTS.md, by its preferred uri', () => {
    const preferred = namingSystems.map(
      (ns) =>
        ns.uniqueId.find((u: { type: string; preferred?: boolean }) => u.type === 'uri' && u.preferred).value,
    );
    expect(preferred.sort()).toEqual(
      [
        'urn:oid:2.16.156.10011.1.3',
        `${BASE}/sid/mrn/{institution-id}`,
        `${BASE}/sid/visit/{institution-id}`,
        `${BASE}/sid/source-id/{institution-id}`,
        `${BASE}/sid/insurance`,
        `${BASE}/sid/health-card`,
        `${BASE}/sid/person`,
        `${BASE}/sid/institution`,
        `${BASE}/sid/inbound-message`,
      ].sort(),
    );
  });

  it('states the common fields: active, 2026-12-01, County HIE, English name, Chinese description', () => {
    for (const ns of namingSystems) {
      expect(ns).toMatchObject({
        status: 'active',
        kind: 'identifier',
        date: '2026-12-01',
        publisher: 'County HIE',
      });
      expect(ns.name).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(ns.description).toMatch(/[\u4e00-\u9fff]/);
    }
  });

  it('gives the national ID both its OID and its urn:oid uri', () => {
    const ns = namingSystems.find((n) => n.id === 'national-resident-id');
    expect(ns.uniqueId).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'oid', value: '2.16.156.10011.1.3' }),
        expect.objectContaining({ type: 'uri', value: 'urn:oid:2.16.156.10011.1.3', preferred: true }),
      ]),
    );
  });

  it('loads as a profile registry, NamingSystems not taken for profiles', () => {
    const registry = knownProfiles();
    const sdUrls = resources
      .filter((r) => r.json.resourceType === 'StructureDefinition')
      .map((r) => r.json.url);
    expect(registry.urls()).toEqual(sdUrls.sort());
  });
});
