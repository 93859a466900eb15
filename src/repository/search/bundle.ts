import { tryGetDataType } from '@medplum/core';
import { parseFhirJson, stringifyFhirJson } from '../../kernel/fhir-json.ts';
import { uuidv7 } from '../../kernel/ids.ts';
import { outcome } from '../../kernel/outcomes.ts';
import type { StoredResource } from '../types.ts';
import type { SearchResult, SummaryMode } from './types.ts';

export const SUBSETTED = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
};

const ALWAYS = ['resourceType', 'id', 'meta'];

/**
 * The searchset Bundle as JSON text. Resources are spliced in as the stored text, unparsed,
 * unless `_summary`/`_elements` asks for a subset: serving stored bytes is what makes a
 * page of 1000 resources cheap.
 */
export function searchResultToBundle(result: SearchResult, baseUrl: string): string {
  const subset = subsetter(result.summary, result.elements);
  const entries: string[] = [];
  const entry = (r: StoredResource, mode: 'match' | 'include') => {
    const json = subset ? subset(r.json ?? '{}') : (r.json ?? '{}');
    entries.push(
      `{"fullUrl":${q(`${baseUrl}/${r.resourceType}/${r.id}`)},"resource":${json},"search":{"mode":"${mode}"}}`,
    );
  };
  for (const r of result.matches) entry(r, 'match');
  for (const r of result.includes) entry(r, 'include');
  if (result.issues.length > 0) {
    const oo = JSON.stringify(outcome(...result.issues));
    entries.push(`{"fullUrl":${q(`urn:uuid:${uuidv7()}`)},"resource":${oo},"search":{"mode":"outcome"}}`);
  }
  const links = [`{"relation":"self","url":${q(result.selfUrl)}}`];
  if (result.nextUrl) links.push(`{"relation":"next","url":${q(result.nextUrl)}}`);
  const total = result.total !== undefined ? `,"total":${result.total}` : '';
  return (
    `{"resourceType":"Bundle","id":${q(uuidv7())},"meta":{"lastUpdated":${q(new Date().toISOString())}},` +
    `"type":"searchset"${total},"link":[${links.join(',')}]` +
    (entries.length ? `,"entry":[${entries.join(',')}]` : '') +
    '}'
  );
}

const q = (s: string) => JSON.stringify(s);

type Subset = (json: string) => string;

function subsetter(summary: SummaryMode | undefined, elements: string[] | undefined): Subset | undefined {
  if (elements) return (json) => subsetJson(json, () => new Set([...ALWAYS, ...elements]));
  switch (summary) {
    case 'true':
      return (json) =>
        subsetJson(
          json,
          (type) =>
            new Set([
              ...ALWAYS,
              ...schemaSet(type, 'summaryProperties'),
              ...schemaSet(type, 'mandatoryProperties'),
            ]),
        );
    case 'text':
      return (json) =>
        subsetJson(json, (type) => new Set([...ALWAYS, 'text', ...schemaSet(type, 'mandatoryProperties')]));
    case 'data':
      return (json) => subsetJson(json, () => undefined, 'text');
    default:
      return undefined;
  }
}

/** Top-level property names from Medplum's type schema (choice elements without `[x]`). */
function schemaSet(type: string, which: 'summaryProperties' | 'mandatoryProperties'): string[] {
  const schema = tryGetDataType(type) as unknown as Record<string, Set<string> | undefined> | undefined;
  return [...(schema?.[which] ?? [])];
}

/** `value` → `valueQuantity`, `valueString` … when the type declares `value[x]`. */
function choiceForms(type: string, names: Set<string>): Map<string, string> {
  const elements = tryGetDataType(type)?.elements ?? {};
  const out = new Map<string, string>();
  for (const key of Object.keys(elements)) {
    if (key.endsWith('[x]') && names.has(key.slice(0, -3))) out.set(key.slice(0, -3), key);
  }
  return out;
}

/**
 * Keeps the properties named by `keep` (or all but `drop`), with their `_x` primitive
 * extensions and their choice forms, and tags the result SUBSETTED so that no one stores it
 * back as the whole resource.
 */
function subsetJson(json: string, keep: (type: string) => Set<string> | undefined, drop?: string): string {
  const resource = parseFhirJson(json) as Record<string, unknown>;
  const type = String(resource.resourceType);
  const names = keep(type);
  const choices = names ? [...choiceForms(type, names).keys()] : [];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    const bare = key.startsWith('_') ? key.slice(1) : key;
    const kept = names ? names.has(bare) || choices.some((n) => isChoiceOf(bare, n)) : bare !== drop;
    if (kept) out[key] = value;
  }
  const meta = (out.meta ?? {}) as { tag?: { system?: string; code?: string }[] };
  const tags = meta.tag ?? [];
  if (!tags.some((t) => t.system === SUBSETTED.system && t.code === SUBSETTED.code)) {
    out.meta = { ...meta, tag: [...tags, SUBSETTED] };
  }
  return stringifyFhirJson(out);
}

function isChoiceOf(key: string, name: string): boolean {
  return key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length]!);
}
