import type { Patient } from 'fhir/r4';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMappings } from '../../../src/mapping/engine/index.ts';
import { hl7MappingFolders } from './mapping-folders.ts';
import { MappingError } from '../../../src/mapping/types.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';
import { CTX } from './support.ts';

// A small HL7 file written here: `map` on a field's repetitions, and what an HL7 file may not say.
const file = (elements: string, extra = '') => `id: langs
version: 1
format: hl7v2
messageType: ADT^A31
${extra}
resources:
  - name: patient
    type: Patient
    key: { system: '{base}/sid/mrn/{institution}', value: { path: PID-3, as: mrn } }
    elements:
${elements}
`;

const LANGUAGES = `      - target: 'communication[].language.coding[0].code'
        path: 'PID-15[*]'
        map: { ZH: zh, EN: en }
`;

const message = (languages: string) =>
  parseHl7(
    [
      'MSH|^~\\&|HIS|XQWSY|HIE|COUNTY|20261103091500||ADT^A31^ADT_A05|C1|P|2.5.1',
      'EVN|A31|20261103091500',
      `PID|1||MRN1^^^XQWSY^MR||李^建华||19680415|M|||||||${languages}`,
    ].join('\r'),
  );

const { folder, problems, removeAll } = hl7MappingFolders();
afterEach(removeAll);

const load = async (text: string) => loadMappings(await folder({ 'langs.yaml': text }));
const refusal = async (text: string) => (await problems({ 'langs.yaml': text })).map((p) => p.reason);

describe('map on a field with repetitions', () => {
  it('looks up each repetition on its own; an unlisted one is a warning and left out', async () => {
    const set = await load(file(LANGUAGES));
    const out = set.byId('langs')!.map(message('ZH~XX~EN'), CTX);
    const patient = out.bundle.entry![0]!.resource as Patient;
    expect(patient.communication?.map((c) => c.language.coding?.[0]?.code)).toEqual(['zh', 'en']);
    expect(out.issues).toEqual([
      expect.objectContaining({
        severity: 'warning',
        diagnostics: expect.stringContaining('"XX" is not one of ZH, EN; left out'),
      }),
    ]);
  });

  it('refuses the message (103 at the repetition) when the element is required', async () => {
    const set = await load(
      file(LANGUAGES.replace('map: { ZH: zh, EN: en }', 'map: { ZH: zh, EN: en }\n        required: true')),
    );
    let err: unknown;
    try {
      set.byId('langs')!.map(message('ZH~XX'), CTX);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MappingError);
    expect((err as MappingError).problems[0]).toMatchObject({
      hl7: { segment: 'PID', field: 15, repetition: 2, code: '103' },
    });
  });
});

describe('what an HL7 file may not say', () => {
  it('a display for a code read from an HL7 field, and a controlId', async () => {
    const display = await refusal(
      file(
        `      - { target: maritalStatus, path: PID-16, as: CodeableConcept, table: marital, display: PID-16.2 }\n`,
      ),
    );
    expect(display.join('\n')).toMatch(/carries its own display/);
    const control = await refusal(file(LANGUAGES, 'controlId: { path: MSH-10 }'));
    expect(control.join('\n')).toMatch(/identified by its MSH-10/);
  });
});
