import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { stringifyFhirJson } from '../kernel/fhir-json.ts';
import { OperationOutcomeError } from '../kernel/outcomes.ts';
import { mapSample, type SampleMessage } from '../admin/map-sample.ts';
import type { Institution, InstitutionEntry } from '../institutions/types.ts';
import {
  DEFAULT_MAPPINGS_DIR,
  compileMappingFile,
  formatProblem,
  loadConceptMaps,
  loadMappings,
  mappingFiles,
  parseConceptMap,
  MappingLoadError,
  type CompiledMapping,
  type LoadProblem,
} from '../mapping/engine/index.ts';
import { sampleInstitution } from '../mapping/engine/sample-institution.ts';
import { loadFhirModel } from '../repository/fhir-model.ts';
import { loadSensitivityRules } from '../mapping/sensitivity/index.ts';
import { validateStructure } from '../repository/validation/index.ts';
import { INSTITUTION_ID, parseCommandArgs, requireMatch } from './args.ts';
import { CliError, UsageError, type CliIo } from './cli-errors.ts';

export const MAPPING_USAGE = `hie mapping test <mapping-file-or-id> <sample-file> [--institution <id>] [--json]
  maps the sample (one Bundle per CSV row or HL7 v2 message) and prints every issue; exit 1 on errors
hie mapping lint [file…]   (no argument: everything in mappings/)`;

const OPTIONS = { institution: { type: 'string' }, json: { type: 'boolean' } } as const;
const REGISTRY = path.resolve(DEFAULT_MAPPINGS_DIR, '../registry/institutions.json');
const BASE = process.env.HIE_CANONICAL_BASE ?? 'https://county-hie.org/fhir';

export async function mappingCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const [sub, ...rest] = positionals;
  if (sub === 'lint') return lint(rest, io, values.json === true);
  if (sub === 'test') {
    if (rest.length !== 2) throw new UsageError('hie mapping test takes a mapping and a sample file');
    return test(rest[0]!, rest[1]!, values.institution, values.json === true, io);
  }
  throw new UsageError(
    sub === undefined ? 'which mapping command? (test, lint)' : `unknown mapping command "${sub}"`,
  );
}

async function lint(files: string[], io: CliIo, json: boolean): Promise<number> {
  const problems: LoadProblem[] = [];
  if (files.length === 0) {
    try {
      await loadMappings();
    } catch (err) {
      if (!(err instanceof MappingLoadError)) throw err;
      problems.push(...err.problems);
    }
    files = [];
  }
  const { maps } = await loadConceptMaps(path.join(DEFAULT_MAPPINGS_DIR, 'conceptmaps'));
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new CliError(`cannot read ${file}`);
    });
    if (/"resourceType"\s*:\s*"ConceptMap"/.test(text)) problems.push(...conceptMapProblems(file, text));
    else compileMappingFile(file, text, maps, problems);
  }
  if (files.length === 0 && problems.length === 0) {
    // The set loads: check the ConceptMaps' FHIR structure too (the loader only reads what it needs).
    const dir = path.join(DEFAULT_MAPPINGS_DIR, 'conceptmaps');
    for (const m of maps.values()) problems.push(...conceptMapProblems(m.file, readFileSync(m.file, 'utf8')));
    if (!existsSync(dir)) problems.push({ file: dir, reason: 'no ConceptMap folder' });
  }
  if (json) io.out(JSON.stringify({ ok: problems.length === 0, problems }) + '\n');
  else if (problems.length) io.err(problems.map(formatProblem).join('\n') + '\n');
  else io.err(`mappings OK (${files.length || (await mappingFiles(DEFAULT_MAPPINGS_DIR)).length} files)\n`);
  return problems.length ? 1 : 0;
}

function conceptMapProblems(file: string, text: string): LoadProblem[] {
  const parsed = parseConceptMap(file, text);
  if (!parsed.resource) return parsed.problems;
  return validateStructure(loadFhirModel(), parsed.resource)
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => ({ file, reason: `${i.expression?.join(', ') ?? ''}: ${i.diagnostics ?? i.code}` }));
}

async function test(
  which: string,
  sampleFile: string,
  institutionId: string | undefined,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const mapping = await resolveMapping(which);
  const raw = await readFile(sampleFile).catch(() => {
    throw new CliError(`cannot read ${sampleFile}`);
  });
  const institution = pickInstitution(
    mapping,
    institutionId,
    mapping.format === 'hl7v2' ? sendingFacilityOf(raw) : undefined,
  );
  let results: SampleMessage[];
  try {
    results = mapSample(mapping, raw, {
      institution,
      canonicalBase: BASE,
      model: loadFhirModel(),
      sensitivity: loadSensitivityRules(undefined, { canonicalBase: BASE }),
    });
  } catch (err) {
    // A sample that cannot be read at all (the admin route answers 400 for it).
    if (err instanceof OperationOutcomeError)
      throw new CliError(`${sampleFile}: ${err.outcome.issue[0]?.diagnostics ?? err.message}`);
    throw err;
  }
  const failed = results.some((r) => r.issues.some((i) => i.severity === 'error' || i.severity === 'fatal'));
  if (json) {
    io.out(
      stringifyFhirJson({
        mapping: `${mapping.id}@${mapping.version}`,
        institution: institution.id,
        ok: !failed,
        results,
      }) + '\n',
    );
  } else {
    for (const r of results) {
      io.out(`# ${r.label}\n`);
      if ('bundle' in r) io.out(JSON.stringify(JSON.parse(stringifyFhirJson(r.bundle)), null, 2) + '\n');
      for (const i of r.issues)
        io.err(`${r.label}: ${i.severity}: ${i.expression?.join(', ') ?? ''}: ${i.diagnostics ?? i.code}\n`);
    }
    io.err(
      `${mapping.id}@${mapping.version}: ${results.length} message(s), ${failed ? 'errors found' : 'no errors'}\n`,
    );
  }
  return failed ? 1 : 0;
}

async function resolveMapping(which: string): Promise<CompiledMapping> {
  if (/\.(ya?ml|json)$/.test(which) || existsSync(which)) {
    const { maps } = await loadConceptMaps(path.join(DEFAULT_MAPPINGS_DIR, 'conceptmaps'));
    const problems: LoadProblem[] = [];
    const text = await readFile(which, 'utf8').catch(() => {
      throw new CliError(`cannot read ${which}`);
    });
    const m = compileMappingFile(path.resolve(which), text, maps, problems);
    if (!m) throw new CliError(`the mapping is refused:\n${problems.map(formatProblem).join('\n')}`);
    return m;
  }
  let set;
  try {
    set = await loadMappings();
  } catch (err) {
    if (err instanceof MappingLoadError) throw new CliError(`mappings/ does not load:\n${err.message}`);
    throw err;
  }
  const m = set.byId(which);
  if (!m) throw new CliError(`no mapping "${which}" (known: ${set.mappings.map((x) => x.id).join(', ')})`);
  return m;
}

/**
 * The named registry institution; else, as the gateway would identify the sender, the one whose
 * facility codes hold the HL7 sample's MSH-4, or the first that declares the CSV/JSON feed; else
 * a sample one.
 */
function pickInstitution(m: CompiledMapping, id: string | undefined, facility?: string): Institution {
  if (id !== undefined) requireMatch(id, INSTITUTION_ID, '--institution');
  let entries: Institution[] = [];
  try {
    entries = (JSON.parse(readFileSync(REGISTRY, 'utf8')) as InstitutionEntry[]).map((e) => ({
      ...e,
      active: true,
      publicKeys: [],
      mllpAllowFrom: [],
    }));
  } catch {
    /* no registry file: a sample institution below */
  }
  const found =
    id !== undefined
      ? entries.find((e) => e.id === id)
      : m.format === 'hl7v2'
        ? entries.find((e) => facility !== undefined && e.facilityCodes.includes(facility))
        : entries.find((e) => e.formats.includes(`${m.format}:${m.feed}`));
  if (found) return found;
  return sampleInstitution(id ?? m.institutions?.[0] ?? 'sample-institution', m);
}

/** MSH-4.1 of the first message in a sample (its field separator is MSH's fourth character). */
function sendingFacilityOf(raw: Buffer): string | undefined {
  const text = raw.toString('latin1');
  const start = text.indexOf('MSH');
  if (start < 0) return undefined;
  const sep = text[start + 3];
  if (!sep) return undefined;
  const field = text
    .slice(start)
    .split(/[\r\n]/, 1)[0]!
    .split(sep)[3];
  return field?.split(text[start + 4] ?? '^')[0] || undefined;
}
