import type { OperationOutcomeIssue } from 'fhir/r4';
import { isLosslessNumber } from 'lossless-json';
import type { Hl7ErrorCode, Hl7Location } from '../types.ts';
import { hl7IssuePlace } from '../hl7-place.ts';

/**
 * What one message's run of a mapping shares, where a value is read, and the small helpers that
 * place and word what a run reports.
 */
export type InputFormat = 'csv' | 'json' | 'hl7v2';

/** Where a value is read: the CSV row, or a JSON node with its absolute pointer. */
export interface Scope {
  node: unknown;
  /** The same node with plain numbers, for FHIRPath. */
  fp: unknown;
  pointer: string;
  /** HL7: the FHIRPath environment of this segment group (with the file's vars); else the run's. */
  env?: Record<string, unknown>;
  /** The labels of this scope's group and of the groups around it, innermost first ('' = the message). */
  chain?: readonly string[];
}

/** A resource the run produces, with the group it was produced in (its chain). */
export interface Produced {
  fullUrl: string;
  chain: readonly string[];
}

/** What one message's run shares: the institution, warnings, errors, produced fullUrls. */
export interface Run {
  format: InputFormat;
  line: number;
  base: string;
  institution: string;
  timezone: string;
  env: Record<string, unknown>;
  /** Resource name → what the run produces of it (several for a repeated resource). */
  produced: Map<string, Produced[]>;
  issues: OperationOutcomeIssue[];
  errors: { text: string; expression: string; hl7?: Hl7Location & { code: Hl7ErrorCode } }[];
}

export const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

export function fillTemplate(text: string, run: Pick<Run, 'base' | 'institution'>): string {
  return text.replace(/\{base\}/g, run.base).replace(/\{institution\}/g, run.institution);
}

/**
 * `line 3, column "收缩压"` for CSV; the absolute pointer for JSON (`$` = the whole message);
 * HL7: the segment group and the path (`ORC[2]/RXA-5`, `PID-3`, `MSH[1]` for the whole message).
 */
export function location(run: Run, scope: Scope, where?: string): string {
  if (run.format === 'hl7v2')
    return where ? (scope.pointer ? `${scope.pointer}/${where}` : where) : scope.pointer || 'MSH[1]';
  if (run.format === 'csv') return where ? `line ${run.line}, column "${where}"` : `line ${run.line}`;
  return `${scope.pointer}${where ?? ''}` || '$';
}

export function textOf(raw: unknown): string {
  return isLosslessNumber(raw) ? raw.value : String(raw);
}

export function isTrue(out: unknown[], wrong: () => void): boolean {
  if (out.length === 0) return false;
  if (out.length === 1 && typeof out[0] === 'boolean') return out[0];
  wrong();
  return false;
}

/** A warning at a place; HL7 input also gives the exact field, for the ERR-2 of the AA. */
export function warning(
  text: string,
  expression: string,
  code: OperationOutcomeIssue['code'] = 'informational',
  hl7?: Hl7Location & { code: Hl7ErrorCode },
): OperationOutcomeIssue {
  return {
    severity: 'warning',
    code,
    diagnostics: text,
    expression: [expression],
    ...(hl7 ? hl7IssuePlace(hl7) : {}),
  };
}
