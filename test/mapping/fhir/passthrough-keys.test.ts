import { describe, expect, it } from 'vitest';
import { mapFhirPassthrough } from '../../../src/mapping/fhir/passthrough.ts';
import { BASE, INSTITUTION } from '../hl7v2-files/support.ts';

const CPH = { ...INSTITUTION, id: 'county-peoples-hospital' };
const ctx = { institution: CPH, canonicalBase: BASE, archiveId: 'arch-1' };

const bundleWith = (patient: Record<string, unknown>) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:7c1d5e9a-0000-4000-8000-000000000001',
      resource: patient,
      request: { method: 'PUT', url: 'Patient/p1' },
    },
  ],
});

describe('FHIR pass-through keys', () => {
  it('keys a Patient that carries the sender’s own MRN on the MRN, like its HL7 v2 channel does', () => {
    const mrn = `${BASE}/sid/mrn/county-peoples-hospital`;
    const msg = mapFhirPassthrough(
      bundleWith({ resourceType: 'Patient', id: 'p1', identifier: [{ system: mrn, value: 'M100' }] }),
      ctx,
      new Set(['county-peoples-hospital']),
    );
    const entry = msg.bundle.entry![0]!;
    expect(entry.request).toEqual({
      method: 'PUT',
      url: `Patient?identifier=${encodeURIComponent(mrn)}|M100`,
    });
    // The sender's logical id is still kept as an identifier.
    expect((entry.resource as unknown as { identifier: unknown[] }).identifier).toContainEqual({
      system: `${BASE}/sid/source-id/county-peoples-hospital`,
      value: 'p1',
    });
  });

  it('keys on the sender’s logical id when there is no MRN of its own, and never on another institution’s MRN', () => {
    const other = `${BASE}/sid/mrn/dongcun-village-clinic`;
    const msg = mapFhirPassthrough(
      bundleWith({ resourceType: 'Patient', id: 'p1', identifier: [{ system: other, value: 'V9' }] }),
      ctx,
      new Set(['county-peoples-hospital']),
    );
    expect(msg.bundle.entry![0]!.request!.url).toBe(
      `Patient?identifier=${encodeURIComponent(`${BASE}/sid/source-id/county-peoples-hospital`)}|p1`,
    );
  });
});
