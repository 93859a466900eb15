import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

type Json = Record<string, any>;

export const DEFAULT_RECOGNITION_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../mappings/recognition/mutual-recognition.yaml',
);

/** One recognised item: which codes name it, how long a result stands, whose results count. */
export interface RecognisedItem {
  id: string;
  name: { zh: string; en: string };
  /** `system` absent: any system with this code (the centres' local catalogue codes). */
  codes: { system?: string; code: string }[];
  windowDays: number;
  recognisedFrom: { tiers: string[]; institutions: string[] };
}

export interface RecognitionList {
  id: string;
  version: number;
  items: RecognisedItem[];
}

const strings = (v: unknown, where: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new Error(`${where}: a list of strings`);
  return v as string[];
};

/**
 * Reads the versioned recognition list; items without `windowDays` take `defaultDays`
 * (`HIE_MUTUAL_RECOGNITION_DAYS`). A malformed file fails loudly at start, naming the item.
 */
export function loadRecognitionList(defaultDays: number, file = DEFAULT_RECOGNITION_FILE): RecognitionList {
  const doc = parse(readFileSync(file, 'utf8')) as Json;
  if (typeof doc?.id !== 'string' || !Number.isInteger(doc.version) || !Array.isArray(doc.items))
    throw new Error(`${file}: needs id, an integer version and items`);
  const items = doc.items.map((it: Json, i: number): RecognisedItem => {
    const where = `${file}: items[${i}]`;
    if (typeof it.id !== 'string' || typeof it.name?.zh !== 'string' || typeof it.name?.en !== 'string')
      throw new Error(`${where}: needs id and name {zh, en}`);
    if (
      !Array.isArray(it.codes) ||
      it.codes.length === 0 ||
      it.codes.some((c: Json) => typeof c?.code !== 'string')
    )
      throw new Error(`${where}: needs codes [{system?, code}]`);
    const days = it.windowDays ?? defaultDays;
    if (!Number.isInteger(days) || days < 1)
      throw new Error(`${where}: windowDays must be a positive integer`);
    const from = {
      tiers: strings(it.recognisedFrom?.tiers, `${where}.recognisedFrom.tiers`),
      institutions: strings(it.recognisedFrom?.institutions, `${where}.recognisedFrom.institutions`),
    };
    if (from.tiers.length + from.institutions.length === 0)
      throw new Error(`${where}: recognisedFrom names no tier or institution`);
    return { id: it.id, name: it.name, codes: it.codes, windowDays: days, recognisedFrom: from };
  });
  return { id: doc.id, version: doc.version, items };
}

/** The recognised item a result's code names, if any. */
export function recognisedItemOf(list: RecognitionList, code: Json | undefined): RecognisedItem | undefined {
  const codings: Json[] = code?.coding ?? [];
  return list.items.find((item) =>
    item.codes.some((c) => codings.some((x) => x.code === c.code && (!c.system || x.system === c.system))),
  );
}

/** Whether a result from `institution` (of `tier`) is recognised for the item. */
export function recognisedFrom(item: RecognisedItem, institution: string, tier: string | undefined): boolean {
  return (
    item.recognisedFrom.institutions.includes(institution) ||
    (!!tier && item.recognisedFrom.tiers.includes(tier))
  );
}
