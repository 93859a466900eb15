import { readFile } from 'node:fs/promises';
import type { OperationOutcomeIssue } from 'fhir/r4';
import { parseFhirJson } from '../kernel/fhir-json.ts';
import { OperationOutcomeError } from '../kernel/outcomes.ts';
import { loadFhirModel } from '../repository/fhir-model.ts';
import { ProfileLoadError, knownProfiles, validateResource } from '../validate/index.ts';
import { parseCommandArgs } from './args.ts';
import { CliError, UsageError, type CliIo } from './cli-errors.ts';

export const PROFILE_USAGE = `hie profile validate <resource.json> [--json] [--claimed-only]
  checks a resource (a Bundle: every entry) as /ingest and $validate do: base R4, the region's
  profile for its type, the profiles it claims that profiles/ holds, and national-ID
  verification; --claimed-only leaves out the region profile a resource does not claim.
  Prints every issue, exit 1 on errors`;

const OPTIONS = { json: { type: 'boolean' }, 'claimed-only': { type: 'boolean' } } as const;

/** `hie profile validate <file>`: the same checks as `POST /fhir/$validate`, offline. */
export async function profileCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const [sub, ...files] = positionals;
  if (sub !== 'validate')
    throw new UsageError(
      sub === undefined ? 'which profile command? (validate)' : `unknown profile command "${sub}"`,
    );
  if (files.length !== 1) throw new UsageError('hie profile validate takes one JSON file');
  const file = files[0]!;

  const resource = await readResource(file);
  let registry;
  try {
    registry = knownProfiles();
  } catch (err) {
    // A broken profiles/ folder is the finding, not a crash: name the files.
    if (err instanceof ProfileLoadError) throw new CliError(`profiles/ cannot be loaded:\n${err.message}`);
    throw err;
  }
  const { issue } = validateResource(loadFhirModel(), resource, {
    registry,
    regionProfiles: values['claimed-only'] !== true,
  });
  const errors = issue.filter((i) => i.severity === 'error' || i.severity === 'fatal').length;
  if (values.json) {
    io.out(JSON.stringify({ file, valid: errors === 0, issues: issue }) + '\n');
  } else {
    io.out(issue.map(formatIssue).join('\n') + '\n');
    io.err(`${file}: ${errors === 0 ? 'valid' : `${errors} error${errors === 1 ? '' : 's'}`}\n`);
  }
  return errors === 0 ? 0 : 1;
}

async function readResource(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file} (${err.code ?? err.message})`);
  });
  let parsed: unknown;
  try {
    // The server's own reader: decimals keep their text (1.50), as a POST body would.
    parsed = parseFhirJson(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    if (err instanceof OperationOutcomeError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliError(`${file} does not hold a JSON object (a FHIR resource)`);
  return parsed as Record<string, unknown>;
}

/** One line an issue: `error    Patient.birthDate  "1990-13-01" is not a valid date`. */
function formatIssue(i: OperationOutcomeIssue): string {
  const where = i.expression?.join(', ') ?? '-';
  return `${i.severity.padEnd(11)} ${where}  ${i.diagnostics ?? i.details?.text ?? i.code}`;
}
