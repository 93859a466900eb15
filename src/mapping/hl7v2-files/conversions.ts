import type { CodeableConcept, Coding, Identifier } from 'fhir/r4';
import { ConversionError } from '../engine/convert.ts';
import type { LoadedConceptMap } from '../engine/conceptmaps.ts';
import { address, codeable, contactPoint, humanName, knownOr } from '../hl7v2/datatypes.ts';
import { chooseIdentifiers } from '../hl7v2/patient.ts';
import { parseHl7Time } from '../hl7v2/time.ts';
import { MappingError, type Hl7Location } from '../types.ts';
import type { Hl7Value } from './paths.ts';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** HL7 TS/DTM → FHIR dateTime or date; a time without offset is in the institution's timezone. */
export function hl7DateTime(
  text: string,
  timezone: string,
  at: Hl7Location,
  part: 'dateTime' | 'date',
): string {
  try {
    const t = parseHl7Time(text, timezone, at);
    return part === 'date' ? t.date : t.dateTime;
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
export function hl7ContactPoint(v: Hl7Value) {
  return contactPoint(v.repetition);
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
