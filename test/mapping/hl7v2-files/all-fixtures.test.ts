import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapHl7 } from './support.ts';
import { MappingError } from '../../../src/mapping/types.ts';
import { decodeHl7, parseHl7, splitHl7Messages } from '../../../src/parse/hl7v2/index.ts';
import { sharedFixture } from '../../support/shared-fixtures.ts';
import { CTX, structuralErrors } from './support.ts';

const dir = sharedFixture('hl7v2');
const files = dir
  ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.hl7'))
      .sort()
  : [];

/** The two LinuxForHealth ADT samples write MSH-2 as `^~\\&`: refused as broken delimiters. */
const MALFORMED = new Set([
  'linuxforhealth-hl7v2-fhir-converter/sample_unix.hl7',
  'linuxforhealth-hl7v2-fhir-converter/sample_win.hl7',
]);

function outcome(file: string): string {
  const { text } = decodeHl7(readFileSync(path.join(dir!, file)), { defaultCharset: 'UTF-8' });
  const messages = splitHl7Messages(text);
  expect(messages.length).toBeGreaterThan(0);
  return messages
    .map((m) => {
      let parsed;
      try {
        parsed = parseHl7(m);
      } catch (e) {
        expect(e).toBeInstanceOf(MappingError);
        return `parse:${(e as MappingError).problems[0]!.hl7!.code}`;
      }
      try {
        const mapped = mapHl7(parsed, CTX);
        expect(structuralErrors(mapped.bundle)).toEqual([]);
        return 'mapped';
      } catch (e) {
        // Never a crash: a MappingError naming a segment and a table 0357 code.
        expect(e).toBeInstanceOf(MappingError);
        const p = (e as MappingError).problems[0]!;
        expect(p.hl7?.segment).toMatch(/^[A-Z][A-Z0-9]{2}$/);
        return `${(e as MappingError).kind}:${p.hl7!.code}:${p.hl7!.segment}-${p.hl7!.field ?? ''}`;
      }
    })
    .join(',');
}

describe.skipIf(!dir)('shared HL7 v2 fixtures', () => {
  it('finds the fixture files', () => expect(files.length).toBeGreaterThanOrEqual(60));

  it.each(files)('%s parses and maps, or fails precisely', (file) => {
    const result = outcome(file);
    const { text } = decodeHl7(readFileSync(path.join(dir!, file)), { defaultCharset: 'UTF-8' });
    if (MALFORMED.has(file)) return expect(result).toBe('parse:102');
    expect(result).not.toMatch(/^parse:/);
    const type = text.split(/\r|\n/)[0]!.split('|')[8]!.split('^').slice(0, 2).join('^');
    if (/^ADT\^A(01|02|03|04|05|08|11|13|28|31|40|47)$/.test(type)) expect(result).toBe('mapped');
    else if (type.startsWith('ADT^')) expect(result).toBe('reject:201:MSH-9');
    else if (type === 'ORU^R01') expect(result).toMatch(/^(mapped|error:101:OBX-3)$/);
    else if (/^(ORM\^O01|OML\^O21|VXU\^V04)$/.test(type)) expect(result).toMatch(/^(mapped|error:)/);
    else expect(result).toBe('reject:200:MSH-9');
  });

  it('maps the real ORU messages that identify their results', () => {
    for (const f of [
      'microsoft-fhir-converter/LAB-ORU-1.hl7',
      'microsoft-fhir-converter/LRI_2.0-NG_CBC_Typ_Message.hl7',
      'microsoft-fhir-converter/ORU-R01-01.hl7',
    ]) {
      expect(outcome(f)).toBe('mapped');
    }
    // The LinuxForHealth ORUs carry OBX segments without OBX-3: refused, naming the segment.
    expect(outcome('linuxforhealth-hl7v2-fhir-converter/ORU-multiline-short.hl7')).toBe('error:101:OBX-3');
  });
});
