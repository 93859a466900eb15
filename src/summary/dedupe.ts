import type { Queryable } from '../db/database.ts';

type Json = Record<string, any>;

const ICD10 = 'http://hl7.org/fhir/sid/icd-10';

/** `system|code` of a source coding → the ICD-10 (WHO) code a ConceptMap in the repository gives it. */
export type IcdTranslations = Map<string, string>;

/**
 * The ConceptMaps stored in the repository whose target is ICD-10, read once per summary: village
 * and township local diagnosis codes are compared by the ICD-10 code they translate to.
 */
export async function loadIcdTranslations(db: Queryable): Promise<IcdTranslations> {
  const r = await db.query<{ content: Json }>(
    `SELECT content FROM resource WHERE resource_type = 'ConceptMap' AND NOT deleted
       AND content::text LIKE '%' || $1 || '%'`,
    [ICD10],
  );
  const out: IcdTranslations = new Map();
  for (const { content } of r.rows) {
    for (const g of content.group ?? []) {
      if (g.target !== ICD10) continue;
      for (const el of g.element ?? []) {
        const t = (el.target ?? []).find(
          (x: Json) => x.code && !['unmatched', 'disjoint'].includes(x.equivalence),
        );
        if (t) out.set(`${g.source}|${el.code}`, String(t.code));
      }
    }
  }
  return out;
}

/**
 * China's clinical ICD-10 edition extends WHO codes with suffixes (`I10.x00`, `E11.900`): the WHO
 * category and subcategory at the front is the shared meaning.
 */
function whoIcd(code: string): string {
  return /^[A-Z]\d{2}(\.\d)?/.exec(code.toUpperCase())?.[0] ?? code.toUpperCase();
}

function codingKeys(cc: Json | undefined, translations?: IcdTranslations): string[] {
  const keys: string[] = [];
  for (const c of cc?.coding ?? []) {
    if (!c.code) continue;
    const system = String(c.system ?? '');
    if (system === ICD10 || system.endsWith('/CodeSystem/icd10-cn')) keys.push(`icd10|${whoIcd(c.code)}`);
    else {
      const translated = translations?.get(`${system}|${c.code}`);
      keys.push(translated ? `icd10|${whoIcd(translated)}` : `${system}|${c.code}`);
    }
  }
  if (keys.length === 0 && cc?.text) keys.push(`text|${String(cc.text).trim()}`);
  return keys.sort();
}

const day = (v: unknown) => (typeof v === 'string' ? v.slice(0, 10) : '');

function quantityKey(o: Json): string {
  const q = o.valueQuantity;
  if (q) return `${Number(q.value)}|${q.code ?? q.unit ?? ''}`;
  if (o.valueCodeableConcept) return codingKeys(o.valueCodeableConcept).join(',');
  if (o.valueString !== undefined) return String(o.valueString);
  if (o.component) return JSON.stringify(o.component.map(quantityKey));
  return '';
}

const effective = (o: Json) => o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? '';

/**
 * The key that says two institutions reported the same fact (issue 7): Condition by code after
 * translation, AllergyIntolerance by substance, Observation by code + time + value/unit,
 * Immunization by vaccine + date, MedicationRequest by drug + date. Other types are never merged.
 */
export function sameFactKeys(resource: Json, translations?: IcdTranslations): string[] {
  const t = resource.resourceType;
  switch (t) {
    case 'Condition':
      return codingKeys(resource.code, translations).map((c) => `${t}#${c}`);
    case 'AllergyIntolerance':
      return codingKeys(resource.code).map((c) => `${t}#${c}`);
    case 'Observation': {
      const rest = `#${String(effective(resource))}#${quantityKey(resource)}`;
      return codingKeys(resource.code).map((c) => `${t}#${c}${rest}`);
    }
    case 'Immunization': {
      const when = day(resource.occurrenceDateTime ?? resource.occurrenceString);
      return codingKeys(resource.vaccineCode).map((c) => `${t}#${c}#${when}`);
    }
    case 'MedicationRequest': {
      const when = day(resource.authoredOn);
      return codingKeys(resource.medicationCodeableConcept).map((c) => `${t}#${c}#${when}`);
    }
    default:
      return [];
  }
}

/** A fact kept in the summary and every stored resource that reported it (the first is shown). */
export interface MergedFact {
  resource: Json;
  reportedBy: Json[];
}

/**
 * Folds the same fact from several records into one entry; any shared key joins two resources.
 * Order is kept: the first reporter (newest, as selected) is the one shown.
 */
export function dedupe(resources: Json[], translations?: IcdTranslations): MergedFact[] {
  const out: MergedFact[] = [];
  const byKey = new Map<string, MergedFact>();
  for (const r of resources) {
    const keys = sameFactKeys(r, translations);
    const hit = keys.map((key) => byKey.get(key)).find((x) => x !== undefined);
    if (hit) {
      hit.reportedBy.push(r);
    } else {
      const fact: MergedFact = { resource: r, reportedBy: [r] };
      out.push(fact);
      for (const key of keys) byKey.set(key, fact);
    }
    const fact = hit ?? out[out.length - 1]!;
    for (const key of keys) if (!byKey.has(key)) byKey.set(key, fact);
  }
  return out;
}
