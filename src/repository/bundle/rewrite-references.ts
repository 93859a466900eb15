import type { Queryable } from '../../db/database.ts';
import { fail, unprocessable } from '../../kernel/outcomes.ts';
import type { FhirModel } from '../fhir-model.ts';
import { findIds } from '../search/index.ts';

/**
 * Rewrites references inside a transaction's resources: a reference equal to another entry's
 * `fullUrl` (usually `urn:uuid:…`) becomes that entry's final `Type/id`, and a conditional
 * reference (`Patient?identifier=…`) becomes the one resource it matches (FHIR R4 §3.1.0.11.2).
 */
export async function rewriteReferences(
  q: Queryable,
  model: FhirModel,
  resources: { resource: Record<string, unknown>; index: number }[],
  fullUrlToReference: Map<string, string>,
): Promise<void> {
  const conditional = new Map<string, string>();
  for (const { resource, index } of resources) {
    const pending: { holder: Record<string, unknown>; ref: string }[] = [];
    collect(resource, pending);
    for (const { holder, ref } of pending) {
      const mapped = fullUrlToReference.get(ref);
      if (mapped) {
        holder.reference = mapped;
      } else if (/^[A-Z][A-Za-z]+\?/.test(ref)) {
        let target = conditional.get(ref);
        if (!target) conditional.set(ref, (target = await resolveConditional(q, model, ref, index)));
        holder.reference = target;
      }
    }
  }
}

function collect(value: unknown, out: { holder: Record<string, unknown>; ref: string }[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    if (key === 'reference' && typeof v === 'string') out.push({ holder: obj, ref: v });
    else if (typeof v === 'object') collect(v, out);
  }
}

async function resolveConditional(
  q: Queryable,
  model: FhirModel,
  ref: string,
  index: number,
): Promise<string> {
  const type = ref.slice(0, ref.indexOf('?'));
  if (!model.isResourceType(type)) {
    throw unprocessable(
      `Conditional reference "${ref}" names an unknown type`,
      `Bundle.entry[${index}].resource`,
    );
  }
  const criteria = [...new URLSearchParams(ref.slice(type.length + 1)).entries()];
  const ids = await findIds(q, model, type, criteria);
  if (ids.length === 0) {
    throw unprocessable(
      `Conditional reference "${ref}" matches no resource`,
      `Bundle.entry[${index}].resource`,
      'HIE-BUNDLE-010',
    );
  }
  if (ids.length > 1) {
    throw fail(412, {
      code: 'multiple-matches',
      diagnostics: `Conditional reference "${ref}" matches more than one resource`,
      expression: `Bundle.entry[${index}].resource`,
      hieCode: 'HIE-BUNDLE-011',
    });
  }
  return `${type}/${ids[0]}`;
}
