import type { Address, CodeableConcept, Coding, ContactPoint, HumanName } from 'fhir/r4';
import type { Hl7Repetition } from '../../parse/hl7v2/index.ts';

/** HL7 coding-system names (table 0396) we know by their FHIR URI. */
const KNOWN_SYSTEMS: Record<string, string> = {
  LN: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  SNM: 'http://snomed.info/sct',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  UCUM: 'http://unitsofmeasure.org',
};

/** A standard system by its HL7 name, else the caller's local system. */
export function knownOr(local: (hl7System: string) => string): (hl7System: string) => string {
  return (sys) =>
    KNOWN_SYSTEMS[sys.toUpperCase()] ??
    (/^HL7\d{4}$/i.test(sys) ? `http://terminology.hl7.org/CodeSystem/v2-${sys.slice(3)}` : local(sys));
}

/**
 * CE/CWE → CodeableConcept. `systemFor(name)` turns the HL7 coding-system name into a URI (the
 * institution's local CodeSystem when unknown: kept, never dropped). Both triplets are read.
 */
export function codeable(
  rep: Hl7Repetition | undefined,
  systemFor: (hl7System: string) => string,
): CodeableConcept | undefined {
  if (!rep) return undefined;
  const coding: Coding[] = [];
  for (const first of [1, 4]) {
    const code = rep.get(first);
    const display = rep.get(first + 1);
    if (!code) continue;
    const sys = rep.get(first + 2);
    const system = systemFor(sys);
    coding.push({ system, code, ...(display ? { display } : {}) });
  }
  const text = rep.get(9) || rep.get(2) || rep.get(5);
  if (coding.length === 0 && !text) return undefined;
  return { ...(coding.length ? { coding } : {}), ...(text ? { text } : {}) };
}

const HAN = /\p{Script=Han}/u;

const NAME_USE: Record<string, HumanName['use']> = {
  L: 'official',
  D: 'usual',
  A: 'nickname',
  N: 'nickname',
  M: 'maiden',
  B: 'old',
  BAD: 'old',
  U: 'temp',
  T: 'temp',
};

/**
 * XPN → HumanName. `text` is always the whole name; `family`/`given` only when the source split
 * the name into components (CONTRACTS.md: never split a Chinese name ourselves — 欧阳, 司马).
 * Chinese names are written family-then-given without a space.
 */
export function humanName(rep: Hl7Repetition): HumanName | undefined {
  const family = rep.get(1, 1);
  const given = [rep.get(2), rep.get(3)].filter((g) => g !== '');
  const suffix = rep.get(4);
  const prefix = rep.get(5);
  if (!family && given.length === 0) return undefined;
  const split = family !== '' && given.length > 0;
  const han = HAN.test(family + given.join(''));
  let text: string;
  if (!split) text = family || given.join(han ? '' : ' ');
  else if (han) text = family + given.join('');
  else text = [prefix, ...given, family, suffix].filter((x) => x !== '').join(' ');
  const use = NAME_USE[rep.get(7)];
  return {
    ...(use ? { use } : {}),
    text,
    ...(split ? { family, given } : {}),
    ...(split && prefix ? { prefix: [prefix] } : {}),
    ...(split && suffix ? { suffix: [suffix] } : {}),
  };
}

const ADDRESS_USE: Record<string, { use?: Address['use']; type?: Address['type'] }> = {
  H: { use: 'home' },
  B: { use: 'work' },
  O: { use: 'work' },
  C: { use: 'temp' },
  M: { type: 'postal' },
  BA: { use: 'old' },
  BR: { use: 'home' },
  L: { use: 'home' },
  P: { use: 'home' },
};

/** XAD → Address; `text` joins the parts the way the address is written (CJK: no spaces). */
export function address(rep: Hl7Repetition): Address | undefined {
  // XAD-1 is SAD: street address & street name & dwelling number; kept together as one line.
  const street = [1, 2, 3]
    .map((s) => rep.get(1, s).trim())
    .filter((x) => x !== '')
    .join(' ');
  const line = [street, rep.get(2).trim()].filter((x) => x !== '');
  const [city, state, postalCode, country] = [3, 4, 5, 6].map((c) => rep.get(c).trim()) as [
    string,
    string,
    string,
    string,
  ];
  const district = rep.get(9).trim();
  const parts = { line, city, state, postalCode, country, district };
  if (!line.length && !city && !state && !postalCode && !country && !district) return undefined;
  const han = HAN.test(line.join('') + city + state + district);
  const text = han
    ? [country, state, city, district, ...line].filter((x) => x && x !== 'CHN' && x !== 'CN').join('')
    : [...line, city, district, state, postalCode, country].filter((x) => x).join(', ');
  const use = ADDRESS_USE[rep.get(7)] ?? {};
  const out: Address = { ...use, text };
  for (const [k, v] of Object.entries(parts)) {
    if (Array.isArray(v) ? v.length : v) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

const TELECOM_USE: Record<string, ContactPoint['use']> = {
  PRN: 'home',
  ORN: 'home',
  VHN: 'home',
  WPN: 'work',
  PRS: 'mobile',
  EMR: 'home',
  ASN: 'temp',
};

/**
 * XTN → ContactPoint. v2.3 puts the whole number in XTN-1; from v2.5 the number is built from
 * country/area/local/extension (XTN-5..8) and XTN-4 is the e-mail address.
 */
export function contactPoint(rep: Hl7Repetition, defaultUse?: ContactPoint['use']): ContactPoint | undefined {
  const equipment = rep.get(3);
  const email = rep.get(4);
  const built = [
    rep.get(5) ? `+${rep.get(5)} ` : '',
    rep.get(6) ? `(${rep.get(6)})` : '',
    rep.get(7),
    rep.get(8) ? ` ext. ${rep.get(8)}` : '',
  ].join('');
  const value = rep.get(7) ? built : rep.get(1) || rep.get(12);
  const useCode = rep.get(2);
  if (equipment === 'Internet' || equipment === 'X.400' || useCode === 'NET' || (!value && email)) {
    return email || value ? { system: 'email', value: email || value } : undefined;
  }
  if (!value) return undefined;
  const system: ContactPoint['system'] = equipment === 'FX' ? 'fax' : equipment === 'BP' ? 'pager' : 'phone';
  const use = equipment === 'CP' ? 'mobile' : (TELECOM_USE[useCode] ?? defaultUse);
  return { system, value, ...(use ? { use } : {}) };
}
