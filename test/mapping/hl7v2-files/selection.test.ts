import { afterEach, describe, expect, it } from 'vitest';
import { loadMappings } from '../../../src/mapping/engine/index.ts';
import { hl7MappingFolders } from './mapping-folders.ts';

/** A minimal ORM mapping; `extra` adds top-level lines (institutions, applications). */
const orm = (id: string, extra = '') => `id: ${id}
version: 1
format: hl7v2
messageType: ORM^O01
${extra}
resources:
  - name: patient
    type: Patient
    key: { system: '{base}/sid/mrn/{institution}', value: { path: PID-3, as: mrn } }
    elements:
      - { target: name, path: 'PID-5[*]', as: HumanName }
`;

const { folder, problems, removeAll } = hl7MappingFolders();
afterEach(removeAll);

describe('HL7 mapping selection', () => {
  it('institution + application > institution > shipped default; other types: none', async () => {
    const set = await loadMappings(
      await folder({
        'a-default.yaml': orm('orm-default'),
        'b-inst.yaml': orm('orm-cph', 'institutions: [county-peoples-hospital]'),
        'c-inst-app.yaml': orm(
          'orm-cph-his',
          'institutions: [county-peoples-hospital]\napplications: [HIS, HIS2]',
        ),
      }),
    );
    const pick = (institution: string, application: string, messageType = 'ORM^O01') =>
      set.selectHl7({ institution, application, messageType })?.id;
    expect(pick('county-peoples-hospital', 'HIS')).toBe('orm-cph-his');
    expect(pick('county-peoples-hospital', 'HIS2')).toBe('orm-cph-his');
    expect(pick('county-peoples-hospital', 'LIS')).toBe('orm-cph');
    expect(pick('county-shared-lab', 'HIS')).toBe('orm-default');
    expect(pick('county-peoples-hospital', 'HIS', 'ADT^A01')).toBeUndefined();
    // HL7 mappings are not CSV/JSON feeds.
    expect(
      set.select({ institution: 'county-peoples-hospital', format: 'hl7v2', feed: 'x' }),
    ).toBeUndefined();
  });

  it('without a default, an institution not named gets no mapping file (the built-in path)', async () => {
    const set = await loadMappings(
      await folder({ 'b.yaml': orm('orm-cph', 'institutions: [county-peoples-hospital]') }),
    );
    expect(
      set.selectHl7({ institution: 'other-place', application: 'HIS', messageType: 'ORM^O01' }),
    ).toBeUndefined();
  });

  it('a tie is a load error at each level, naming both files', async () => {
    const defaults = await problems({ 'a.yaml': orm('orm-a'), 'b.yaml': orm('orm-b') });
    expect(defaults).toEqual([
      expect.objectContaining({
        file: expect.stringMatching(/b\.yaml$/),
        reason: expect.stringMatching(
          /^tie: orm-b and orm-a .*a\.yaml.*HL7 v2 ORM\^O01 \(both shipped defaults\)/,
        ),
      }),
    ]);
    const inst = 'institutions: [county-peoples-hospital]';
    const byInstitution = await problems({ 'a.yaml': orm('orm-a', inst), 'b.yaml': orm('orm-b', inst) });
    expect(byInstitution[0]!.reason).toMatch(/tie: .* of county-peoples-hospital$/);
    const byApp = await problems({
      'a.yaml': orm('orm-a', `${inst}\napplications: [HIS]`),
      'b.yaml': orm('orm-b', `${inst}\napplications: [LIS, HIS]`),
    });
    expect(byApp[0]!.reason).toMatch(/tie: .* of county-peoples-hospital from application HIS$/);
  });

  it('refuses HL7 mapping mistakes at load with file, line and reason', async () => {
    const noType = await problems({ 'a.yaml': orm('orm-a').replace('messageType: ORM^O01\n', '') });
    expect(noType[0]).toMatchObject({
      line: expect.any(Number),
      reason: expect.stringContaining('messageType'),
    });
    const appsAlone = await problems({ 'a.yaml': orm('orm-a', 'applications: [HIS]') });
    expect(appsAlone[0]!.reason).toMatch(/institutions/);
    const badPath = await problems({ 'a.yaml': orm('orm-a').replace('path: PID-3,', 'path: PID3,') });
    expect(badPath[0]).toMatchObject({
      line: 9,
      reason: expect.stringContaining('"PID3" is not an HL7 path'),
    });
    const badVar = await problems({ 'a.yaml': orm('orm-a', 'vars: { x: ORC2 }') });
    expect(badVar[0]!.reason).toMatch(/"ORC2" is not an HL7 path/);
    const unknownVar = await problems({
      'a.yaml': orm('orm-a', 'vars: { placer: ORC-2 }').replace(
        'value: { path: PID-3, as: mrn }',
        "value: { fhirpath: '%filler.first()' }",
      ),
    });
    expect(unknownVar[0]!.reason).toMatch(/FHIRPath does not compile: .*filler/);
    const hl7OnlyInCsv = await problems({
      'a.yaml': orm('orm-a').replace('format: hl7v2', 'format: csv\nfeed: x'),
    });
    expect(hl7OnlyInCsv.map((p) => p.reason).join('\n')).toMatch(/HumanName converts an HL7 field/);
  });
});
