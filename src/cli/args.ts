import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, UsageError } from './cli-errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `parseArgs` in strict mode, its errors turned into usage errors (exit 2, not a stack trace). */
export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Ids the contracts constrain: institution ids double as Organization ids and OAuth client ids. */
export const INSTITUTION_ID = /^[a-z0-9-]{2,40}$/;
/** A FHIR logical id (R4 `id` datatype). */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function requireMatch(value: string | undefined, pattern: RegExp, what: string): string {
  if (value === undefined) throw new UsageError(`${what} is required`);
  // A malformed value is a plain error (exit 1), not a misuse of the command's shape (exit 2).
  if (!pattern.test(value)) throw new CliError(`${what} "${value}" must match ${pattern.source}`);
  return value;
}

/** A whole number of seconds within bounds, from an option's text. */
export function parseSeconds(text: string | undefined, fallback: number, max: number, what: string): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new CliError(`${what} must be a whole number of seconds from 1 to ${max}, got "${text}"`);
  }
  return Number(text);
}
