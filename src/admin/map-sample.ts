import { isUtf8 } from 'node:buffer';
import type { Bundle, OperationOutcomeIssue } from 'fhir/r4';
import type { Institution } from '../institutions/types.ts';
import { parseFhirJson } from '../kernel/fhir-json.ts';
import { badRequest } from '../kernel/outcomes.ts';
import type { CompiledMapping } from '../mapping/engine/index.ts';
import { MappingError, type ElementOrigin, type MappingProblem } from '../mapping/types.ts';
import { placeInInput } from '../pipeline/place-problems.ts';
import type { SensitivityRules } from '../mapping/sensitivity/index.ts';
import { parseCsv } from '../parse/csv/parse-csv.ts';
import { decodeHl7, splitHl7Messages } from '../parse/hl7v2/index.ts';
import { checkMapped } from '../pipeline/validate-stage.ts';
import type { FhirModel } from '../repository/fhir-model.ts';

export interface SampleMessage {
  /** `line 3` for a CSV row, `message 2` for an HL7 message, `body` for a JSON object. */
  label: string;
  /** Absent when the mapping refused the message (its errors are in `issues`). */
  bundle?: Bundle;
  issues: OperationOutcomeIssue[];
}

/**
 * Maps a sample as the gateway would — one message per CSV row or HL7 message, one for a JSON
 * object — and runs the gateway's checks on what it produced (sensitivity labels, then base R4
 * structure and the region's profiles), without archiving or storing anything. Shared by
 * `hie mapping test` and `POST /admin/mappings/{id}/$test`, so a sample that passes here passes
 * at `/ingest`. A sample that cannot be read at all is a 400; a message the mapping refuses is a
 * result.
 */
export function mapSample(
  mapping: CompiledMapping,
  raw: Buffer,
  opts: {
    institution: Institution;
    canonicalBase: string;
    model: FhirModel;
    sensitivity?: SensitivityRules;
    charset?: string;
  },
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
      const checked = placeInInput(checkMapped(opts, msg.bundle), () => {
        const trace: ElementOrigin[] = [];
        mapping.map(input, { ...ctx, trace });
        return trace;
      });
      const issues: OperationOutcomeIssue[] = [...msg.issues, ...checked.map(toIssue)];
      return { label, bundle: msg.bundle, issues };
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      return { label, issues: err.problems.map(toIssue) };
    }
  });
}

function toIssue(p: MappingProblem): OperationOutcomeIssue {
  return {
    severity: p.severity,
    code: 'processing',
    diagnostics: p.text,
    ...(p.expression ? { expression: [p.expression, ...(p.fhirPath ? [p.fhirPath] : [])] } : {}),
  };
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
      // As sent: UTF-8, else the charset MSH-18 names, else the institution's.
      const text = isUtf8(raw) ? raw.toString('utf8') : decodeHl7(raw, { defaultCharset: charset }).text;
      const messages = splitHl7Messages(text);
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
