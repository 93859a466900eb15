import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MAPPINGS_DIR } from '../../../mapping/engine/index.ts';
import type { CodedItem } from '../../types.ts';

/**
 * Village clinic software keeps its own short diagnosis codes (GXY = 高血压), which the shipped
 * ConceptMap `village-diagnosis` translates to ICD-10. The demo writes what a clinic would: the
 * local code whose translation is the event's ICD-10 code (or its three-character category, as
 * the clinics' short lists are coarse); a diagnosis with no local code goes out as its ICD-10
 * code, which the mapping keeps under the clinic's local system with a warning — as it would
 * for a real clinic.
 */
let reverse: Map<string, string> | undefined;

function icdToLocal(): Map<string, string> {
  if (reverse) return reverse;
  const file = path.join(DEFAULT_MAPPINGS_DIR, 'conceptmaps', 'village-diagnosis.json');
  const map = JSON.parse(readFileSync(file, 'utf8')) as {
    group?: { element?: { code: string; target?: { code: string }[] }[] }[];
  };
  reverse = new Map();
  for (const group of map.group ?? [])
    for (const element of group.element ?? [])
      for (const target of element.target ?? [])
        if (!reverse.has(target.code)) reverse.set(target.code, element.code);
  return reverse;
}

export function villageDiagnosisCode(item: CodedItem): string {
  if (item.system !== 'icd-10') return item.code;
  const table = icdToLocal();
  return table.get(item.code) ?? table.get(item.code.split('.')[0]!) ?? item.code;
}
