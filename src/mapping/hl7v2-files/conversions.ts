import { LosslessNumber } from 'lossless-json';
import type { CodeableConcept, Coding, ContactPoint, Identifier } from 'fhir/r4';
import { ConversionError } from '../engine/convert.ts';
import type { LoadedConceptMap } from '../engine/conceptmaps.ts';
import { address, codeable, contactPoint, humanName, knownOr } from './datatypes.ts';
import { chooseIdentifiers } from './identifiers.ts';
import { parseHl7Time, toInstant } from './time.ts';
import { MappingError, type Hl7Location } from '../types.ts';
import type { Hl7Value } from './paths.ts';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** HL7 TS/DTM → FHIR dateTime, date or instant (a date alone: its midnight); a time without offset is in the institution's timezone. */
export function hl7DateTime(
  text: string,
  timezone: string,
  at: Hl7Location,
  part: 'dateTime' | 'date' | 'instant',
): string {
  try {
    const t = parseHl7Time(text, timezone, at);
    return part === 'date' ? t.date : part === 'instant' ? toInstant(t, timezone) : t.dateTime;
  } catch (err) {
    if (err instanceof MappingError) throw new ConversionError(`"${text}" is not a valid HL7 date/time`);
    throw err;
  }
}

/** CX-1 in the mapping's (institution-scoped) system, typed by CX-5 when the sender gave one. */
export function hl7Identifier(v: Hl7Value, system: string): Identifier {
  const type = v.whole ? v.repetition.get(5) : '';
  return {
    ...(type ? { type: { coding: [{ system: V2_0203, code: type }] } } : {}),
    system,
    value: v.whole ? v.repetition.get(1) : v.text,
  };
}

/** CONTRACTS.md: the MRN repetition of a CX list (CX-5 MR, else first PI, else first other). */
export function chooseMrn(v: Hl7Value): string | undefined {
  if (!v.whole) return v.text || undefined;
  return chooseIdentifiers(v.segment, v.field).mrn?.value;
}

/** CONTRACTS.md: the national-ID repetition of a CX list (CX-5 NNCHN or CX-4.1 CHNID). */
export function chooseNationalId(v: Hl7Value): string | undefined {
  if (!v.whole) return v.text || undefined;
  return chooseIdentifiers(v.segment, v.field).national?.value;
}

export function hl7HumanName(v: Hl7Value) {
  return humanName(v.repetition);
}
export function hl7Address(v: Hl7Value) {
  return address(v.repetition);
}
export function hl7ContactPoint(v: Hl7Value, defaultUse?: ContactPoint['use']) {
  return contactPoint(v.repetition, defaultUse);
}

export interface CodingOptions {
  base: string;
  institution: string;
  /** HL7 coding-system names (CWE-3/6) → URIs, from the mapping file (CVX, NDC, MVX…). */
  systems?: Record<string, string>;
  /** A fixed system for every coding (the mapping says the codes are already in it). */
  system?: string;
  /** Local table name for unknown coding systems (default `{seg}-{field}`). */
  table?: string;
  conceptMap?: LoadedConceptMap;
}

/**
 * CE/CWE → CodeableConcept with both triplets. Coding systems the file or the built-in table
 * knows keep their standard URI; others become the institution's local CodeSystem, translated
 * through the ConceptMap when one is named — an untranslated local code is kept and reported.
 */
export function hl7CodeableConcept(
  v: Hl7Value,
  o: CodingOptions,
  untranslated: (code: string, hl7System: string) => void,
): CodeableConcept | undefined {
  const table = o.table ?? `${v.segment.name.toLowerCase()}-${v.field}`;
  const local = `${o.base}/CodeSystem/local/${o.institution}/${table}`;
  const locals = new Map<string, string>();
  const systemFor = o.system
    ? () => o.system!
    : (sys: string) =>
        o.systems?.[sys] ??
        o.systems?.[sys.toUpperCase()] ??
        knownOr((s) => {
          locals.set(local, s);
          return local;
        })(sys);
  const cc = v.whole
    ? codeable(v.repetition, systemFor)
    : v.text
      ? { coding: [{ system: systemFor(''), code: v.text }] }
      : undefined;
  if (!cc?.coding) return cc;
  const translated: Coding[] = [];
  for (const c of cc.coding) {
    if (c.system !== local || !c.code) continue;
    const t = o.conceptMap?.translate(c.code) ?? [];
    if (t.length) translated.push(...t);
    else untranslated(c.code, locals.get(local) ?? '');
  }
  return translated.length ? { ...cc, coding: [...translated, ...cc.coding] } : cc;
}

/** HL7 table 0291 data subtypes (and the usual file names senders put there) → MIME types. */
const MIME: Record<string, string> = {
  PDF: 'application/pdf',
  JPEG: 'image/jpeg',
  JPG: 'image/jpeg',
  PNG: 'image/png',
  GIF: 'image/gif',
  TIFF: 'image/tiff',
  TIF: 'image/tiff',
  BMP: 'image/bmp',
  DICOM: 'application/dicom',
  HTML: 'text/html',
  XML: 'application/xml',
  RTF: 'application/rtf',
  PLAIN: 'text/plain',
  TEXT: 'text/plain',
  SGML: 'text/sgml',
  POSTSCRIPT: 'application/postscript',
  OCTET_STREAM: 'application/octet-stream',
};

/** ED-2/ED-3 (RP-3/RP-4): the MIME type, from the subtype first, else the type of data. */
function mimeOf(typeOfData: string, subtype: string): string {
  const sub = subtype.toUpperCase().replace(/[-\s]/g, '_');
  if (MIME[sub]) return MIME[sub];
  if (/^[a-z]+\/[a-z0-9.+-]+$/i.test(subtype)) return subtype.toLowerCase();
  const type = typeOfData.toUpperCase();
  if (type === 'TEXT') return 'text/plain';
  if (type === 'IM') return 'image/*';
  return 'application/octet-stream';
}

/**
 * ED (encapsulated data: source, type of data, subtype, encoding, data) → Attachment with the
 * data in base64 whatever the sender's encoding (table 0299: A = text, Hex, Base64).
 */
export function hl7Attachment(v: Hl7Value) {
  const r = v.repetition;
  const [typeOfData, subtype, encoding, data] = [r.get(2), r.get(3), r.get(4).toUpperCase(), r.get(5)];
  if (!data) return undefined;
  let base64: string;
  if (encoding === 'BASE64') {
    const compact = data.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0)
      throw new ConversionError('ED-5 is not valid Base64 (ED-4 says Base64)');
    base64 = compact;
  } else if (encoding === 'HEX') {
    if (!/^([0-9A-Fa-f]{2})*$/.test(data))
      throw new ConversionError('ED-5 is not valid hexadecimal (ED-4 says Hex)');
    base64 = Buffer.from(data, 'hex').toString('base64');
  } else if (encoding === 'A' || encoding === '') {
    base64 = Buffer.from(data, 'utf8').toString('base64');
  } else throw new ConversionError(`ED-4 "${r.get(4)}" is not an encoding of table 0299 (A, Hex, Base64)`);
  return { contentType: mimeOf(typeOfData, subtype), data: base64 };
}

/** RP (reference pointer: pointer, application, type of data, subtype) → Attachment with a url. */
export function hl7AttachmentLink(v: Hl7Value) {
  const r = v.repetition;
  const pointer = r.get(1);
  if (!pointer) return undefined;
  const app = r.get(2);
  // A pointer may be relative to the application that holds the data (RP-2).
  const url =
    /^[a-z][a-z0-9+.-]*:/i.test(pointer) || !/^[a-z][a-z0-9+.-]*:/i.test(app)
      ? pointer
      : `${app.replace(/\/+$/, '')}/${pointer.replace(/^\/+/, '')}`;
  return { contentType: mimeOf(r.get(3), r.get(4)), url };
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;

/**
 * HL7 NM text → the exact FHIR decimal text (a `LosslessNumber`, so `1.50` stays `1.50`): a
 * leading `+` and superfluous leading zeros go, `.5` → `0.5`, `5.` → `5`. Undefined: not a number.
 */
export function hl7Decimal(text: string): LosslessNumber | undefined {
  const t = text.trim();
  if (!NUMBER.test(t)) return undefined;
  const [intPart = '', frac] = t.replace(/^\+/, '').split('.');
  const neg = intPart.startsWith('-');
  const int = intPart.replace(/^-/, '').replace(/^0+(?=\d)/, '') || '0';
  const s = (neg ? '-' : '') + int + (frac ? `.${frac}` : '');
  return new LosslessNumber(s === '-0' ? '0' : s);
}
