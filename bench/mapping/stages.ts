/**
 * The HL7 v2 stage's CPU work, cut where the pipeline cuts it (src/pipeline/hl7v2-stage.ts and
 * hl7v2-evaluate.ts), with no HTTP, database or queue: decode → split → parse → map → label →
 * validate. `full` calls the pipeline's own `evaluateHl7`, so it follows the pipeline as it
 * changes; the parts call the same functions one at a time, so the slowest is visible.
 */
import type { Bundle } from 'fhir/r4';
import { uuidv7 } from '../../src/kernel/ids.ts';
import { shippedMappings } from '../../src/mapping/engine/index.ts';
import { mapHl7Message } from '../../src/mapping/hl7v2-files/map-message.ts';
import { labelBundle, loadSensitivityRules } from '../../src/mapping/sensitivity/index.ts';
import { decodeHl7, parseHl7, splitHl7Messages, type ParsedHl7 } from '../../src/parse/hl7v2/index.ts';
import { evaluateHl7 } from '../../src/pipeline/hl7v2-evaluate.ts';
import { checkMapped, validateMappedBundle } from '../../src/pipeline/validate-stage.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import type { BenchMessage } from './corpus.ts';

export const CANONICAL_BASE = 'https://county-hie.org/fhir';

export function stageEnv() {
  return {
    model: loadFhirModel(),
    canonicalBase: CANONICAL_BASE,
    sensitivity: loadSensitivityRules(undefined, { canonicalBase: CANONICAL_BASE }),
    mappings: shippedMappings(),
  };
}
export type StageEnv = ReturnType<typeof stageEnv>;

/** Bytes → the message texts, as `acceptHl7` decodes and splits a body. */
function texts(m: BenchMessage): string[] {
  const { text } = decodeHl7(m.raw, { defaultCharset: m.institution.charset });
  return splitHl7Messages(text);
}

/** The whole evaluation; returns how many messages it refused (they must be none to count). */
export function evaluateAll(env: StageEnv, msgs: readonly BenchMessage[]): number {
  let failed = 0;
  for (const m of msgs)
    for (const t of texts(m)) if (evaluateHl7(t, m.institution, uuidv7(), env).failure) failed++;
  return failed;
}

export function parseAll(msgs: readonly BenchMessage[]): ParsedHl7[] {
  const out: ParsedHl7[] = [];
  for (const m of msgs) for (const t of texts(m)) out.push(parseHl7(t));
  return out;
}

export function mapAll(env: StageEnv, msgs: readonly BenchMessage[], parsed: readonly ParsedHl7[]): Bundle[] {
  return parsed.map(
    (p, i) =>
      mapHl7Message(env.mappings, p, {
        institution: msgs[i]!.institution,
        canonicalBase: CANONICAL_BASE,
        archiveId: uuidv7(),
      }).bundle,
  );
}

/** `checkMapped` (labels, then structure) on each bundle; returns the error count. */
export function validateAll(env: StageEnv, bundles: readonly Bundle[]): number {
  let errors = 0;
  for (const b of bundles) errors += checkMapped(env, b).filter((p) => p.severity === 'error').length;
  return errors;
}

/** The two halves of `checkMapped`, apart. */
export function labelAll(env: StageEnv, bundles: readonly Bundle[]): void {
  for (const b of bundles) labelBundle(b, env.sensitivity);
}
export function structureAll(env: StageEnv, bundles: readonly Bundle[]): void {
  for (const b of bundles) validateMappedBundle(env.model, b);
}

export const resourcesIn = (bundles: readonly Bundle[]) =>
  bundles.reduce((n, b) => n + (b.entry?.length ?? 0), 0);
