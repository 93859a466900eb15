import { isUtf8 } from 'node:buffer';
import type { Bundle, OperationOutcomeIssue } from 'fhir/r4';
import type { Institution } from '../institutions/types.ts';
import { parseFhirJson } from '../kernel/fhir-json.ts';
import { badRequest } from '../kernel/outcomes.ts';
import type { CompiledMapping } from '../mapping/engine/index.ts';
import { MappingError } from '../mapping/types.ts';
import { parseCsv } from '../parse/csv/parse-csv.ts';
import { splitHl7Messages } from '../parse/hl7v2/index.ts';
import type { FhirModel } from '../repository/fhir-model.ts';
import { validateStructure } from '../repository/validation/index.ts';

export interface SampleMessage {
  /** `line 3` for a CSV row, `body` for a JSON object. */
  label: string;
  /** Absent when the mapping refused the message (its errors are in `issues`). */
  bundle?: Bundle;
  issues: OperationOutcomeIssue[];
}

/**
 * Maps a sample the way `hie mapping test` does — one message per CSV row, one for a JSON
 * object — and checks every produced resource's structure, without archiving or storing anything.
 * A sample that cannot be read at all is a 400; a message the mapping refuses is a result.
 */
export function mapSample(
  mapping: CompiledMapping,
  raw: Buffer,
  opts: { institution: Institution; canonicalBase: string; model: FhirModel; charset?: string },
): SampleMessage[] {
  const inputs = readSample(mapping, raw, opts.charset ?? (isUtf8(raw) ? 'UTF-8' : opts.institution.charset));
  return inputs.map(({ label, input }, n) => {
    const ctx = {
      institution: opts.institution,
      canonicalBase: opts.canonicalBase,
      archiveId: `sample-${n + 1}`,
    };
    try {
      const msg = mapping.map(input, ctx);
      const issues: OperationOutcomeIssue[] = [...msg.issues];
      (msg.bundle.entry ?? []).forEach((e, i) => {
        if (!e.resource) return;
        issues.push(
          ...validateStructure(opts.model, e.resource as unknown as Record<string, unknown>, {
            pathPrefix: `Bundle.entry[${i}].resource`,
          }),
        );
      });
      return { label, bundle: msg.bundle, issues };
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      return {
        label,
        issues: err.problems.map((p) => ({
          severity: p.severity,
          code: 'processing' as const,
          diagnostics: p.text,
          ...(p.expression ? { expression: [p.expression] } : {}),
        })),
      };
    }
  });
}

function readSample(
  mapping: CompiledMapping,
  raw: Buffer,
  charset: string,
): { label: string; input: unknown }[] {
  try {
    if (mapping.format === 'csv') {
      const rows = parseCsv(raw, { charset }).rows;
      if (rows.length === 0) throw new Error('the CSV sample has a header but no rows');
      return rows.map((row) => ({ label: `line ${row.line}`, input: row }));
    }
    if (mapping.format === 'hl7v2') {
      const messages = splitHl7Messages(new TextDecoder('utf-8', { fatal: true }).decode(raw));
      return messages.map((text, i) => ({ label: `message ${i + 1}`, input: text }));
    }
    const value = parseFhirJson(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    // The feed stage takes one object per message; an array or a scalar would never reach a mapping.
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new Error(
        `a JSON feed message must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
      );
    return [{ label: 'body', input: value }];
  } catch (err) {
    throw badRequest(
      `The sample cannot be read as ${mapping.format.toUpperCase()}: ${(err as Error).message}`,
    );
  }
}
