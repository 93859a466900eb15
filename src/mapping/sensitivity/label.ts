import type { Bundle, BundleEntry, Coding, Resource } from 'fhir/r4';
import { codeSetMatches, normaliseCode } from './codes.ts';
import { valuesAt } from './elements.ts';
import { CONFIDENTIALITY_SYSTEM, type SensitivityRules } from './load.ts';

export interface LabelResult {
  /** Resources of the Bundle that carry a sensitivity label after the call. */
  labelled: number;
  /** Codings added by this call (0 when the Bundle was already labelled: the call is idempotent). */
  added: number;
}

const RESTRICTED: Coding = { system: CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' };
/** Confidentiality codes below R; they contradict R, so R replaces them. V (above R) stays. */
const LOWER_CONFIDENTIALITY = new Set(['U', 'L', 'M', 'N']);

const key = (c: Coding) => `${c.system ?? ''}|${c.code ?? ''}`;

/**
 * Adds `meta.security` to every entry resource a rule matches, and to every resource pointing
 * at a labelled one through a `propagate` element (a DiagnosticReport whose `result` is an HIV
 * test), transitively, inside this Bundle only. Existing codings are kept; a label already
 * present is not added again. Every labelled resource also gets confidentiality R. Mutates the
 * Bundle's resources in place.
 */
export function labelBundle(bundle: Bundle, rules: SensitivityRules): LabelResult {
  const entries = (bundle.entry ?? []).filter(
    (e): e is BundleEntry & { resource: Resource } => e.resource !== undefined,
  );
  const known = rules.labelByKey;
  // A label the sender already set counts like one a rule found: it propagates and earns R.
  const labels = entries.map((e) => {
    const found = matchedLabels(e.resource, rules);
    for (const c of e.resource.meta?.security ?? []) if (known.has(key(c))) found.add(key(c));
    return found;
  });
  propagate(entries, labels, rules);

  let labelled = 0;
  let added = 0;
  entries.forEach((e, i) => {
    const found = labels[i]!;
    if (found.size === 0) return;
    labelled++;
    added += applyLabels(
      e.resource,
      [...found].map((k) => known.get(k)!),
    );
  });
  return { labelled, added };
}

/** One resource on its own (no propagation partner): a direct write, a test. */
export function labelResource(resource: Resource, rules: SensitivityRules): LabelResult {
  return labelBundle({ resourceType: 'Bundle', type: 'collection', entry: [{ resource }] }, rules);
}

/** Label keys of the rules whose elements hold a matching Coding. */
function matchedLabels(resource: Resource, rules: SensitivityRules): Set<string> {
  const found = new Set<string>();
  for (const er of rules.byType.get(resource.resourceType) ?? []) {
    const lk = key(er.rule.label);
    if (found.has(lk)) continue;
    for (const coding of codingsOf(valuesAt(resource, er.steps))) {
      const sets = er.bySystem.get(coding.system);
      if (sets?.some((s) => codeSetMatches(s, normaliseCode(coding.code)))) {
        found.add(lk);
        break;
      }
    }
  }
  return found;
}

/** The Codings of CodeableConcepts (their `coding`) or of Codings themselves. */
function codingsOf(values: unknown[]): { system: string; code: string }[] {
  const out: { system: string; code: string }[] = [];
  const take = (c: unknown) => {
    const { system, code } = (c ?? {}) as Coding;
    if (typeof system === 'string' && typeof code === 'string') out.push({ system, code });
  };
  for (const v of values) {
    const coding = (v as { coding?: unknown }).coding;
    if (Array.isArray(coding)) coding.forEach(take);
    else take(v);
  }
  return out;
}

/** Passes labels to referring resources until nothing changes (chains: report → panel → test). */
function propagate(
  entries: (BundleEntry & { resource: Resource })[],
  labels: Set<string>[],
  rules: SensitivityRules,
): void {
  if (rules.propagate.size === 0) return;
  const index = referenceIndex(entries);
  let changed = true;
  while (changed) {
    changed = false;
    entries.forEach((e, i) => {
      for (const steps of rules.propagate.get(e.resource.resourceType) ?? []) {
        for (const ref of valuesAt(e.resource, steps)) {
          const target = index.get((ref as { reference?: string }).reference ?? '');
          if (target === undefined || target === i) continue;
          for (const l of labels[target]!) {
            if (!labels[i]!.has(l)) {
              labels[i]!.add(l);
              changed = true;
            }
          }
        }
      }
    });
  }
}

/**
 * How entries of a Bundle are referenced: by fullUrl (`urn:uuid:` in mapped transactions), and
 * by `Type/id` when the resource has an id or the fullUrl ends with one (FHIR senders).
 */
function referenceIndex(entries: (BundleEntry & { resource: Resource })[]): Map<string, number> {
  const index = new Map<string, number>();
  entries.forEach((e, i) => {
    if (e.fullUrl) {
      index.set(e.fullUrl, i);
      const tail = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(e.fullUrl);
      if (tail) index.set(tail[1]!, i);
    }
    if (e.resource.id) index.set(`${e.resource.resourceType}/${e.resource.id}`, i);
  });
  return index;
}

/** Adds the labels and R that are not there yet; returns how many codings were added. */
function applyLabels(resource: Resource, wanted: Coding[]): number {
  const security = [...(resource.meta?.security ?? [])];
  const present = new Set(security.map(key));
  let added = 0;
  for (const l of wanted) {
    if (present.has(key(l))) continue;
    security.push({ ...l });
    present.add(key(l));
    added++;
  }
  const confidentiality = security.filter((c) => c.system === CONFIDENTIALITY_SYSTEM);
  let result = security;
  if (!confidentiality.some((c) => c.code === 'R' || c.code === 'V')) {
    result = security.filter(
      (c) => !(c.system === CONFIDENTIALITY_SYSTEM && LOWER_CONFIDENTIALITY.has(c.code ?? '')),
    );
    result.push({ ...RESTRICTED });
    added++;
  }
  if (added > 0) resource.meta = { ...resource.meta, security: result };
  return added;
}
