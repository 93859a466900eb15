import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { loadConceptMapsSync, type LoadedConceptMap } from './conceptmaps.ts';
import { compileMapping, type CompiledMapping, type MappingFile } from './compile.ts';
import { MappingLoadError, SourceFile, pointerToPath, type LoadProblem } from './problems.ts';

/** `<repo>/mappings`: shipped mapping files, their schema and ConceptMaps. */
export const DEFAULT_MAPPINGS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../mappings',
);

/** Folders holding mapping files, one per input format; other folders (schema, conceptmaps…) are not mappings. */
const FORMAT_DIRS = ['csv', 'json', 'hl7v2'] as const;

export interface MappingSet {
  readonly mappings: readonly CompiledMapping[];
  readonly conceptMaps: ReadonlyMap<string, LoadedConceptMap>;
  /** The most specific mapping: one naming the institution, else the shipped default. */
  select(input: { institution: string; format: string; feed: string }): CompiledMapping | undefined;
  /**
   * The HL7 v2 mapping file for a message, most specific first: institution + sending application
   * (MSH-3) + type, then institution + type, then type (a shipped default). Undefined: no
   * mapping handles that type for that sender.
   */
  selectHl7(input: Hl7Selection): CompiledMapping | undefined;
  byId(id: string): CompiledMapping | undefined;
}

export interface Hl7Selection {
  institution: string;
  /** MSH-3.1 (the HD namespace id). */
  application: string;
  /** `ORM^O01` (MSH-9.1^MSH-9.2; ADT without MSH-9.2: EVN-1 — see eventTypeOf). */
  messageType: string;
}

let validator: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(
    readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'schema/mapping.schema.json'), 'utf8'),
  );
  validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  return validator;
}

/**
 * Loads and compiles every mapping file under `dir/hl7v2`, `dir/csv` and `dir/json`, with the ConceptMaps of
 * `dir/conceptmaps`. Any problem in any file refuses the whole set (MappingLoadError with file,
 * line and reason), so a running system keeps its previous set.
 */
export async function loadMappings(dir: string = DEFAULT_MAPPINGS_DIR): Promise<MappingSet> {
  return loadMappingsSync(dir);
}

/**
 * The same, synchronously (the files are few and small). Compiling is the cost, not reading:
 * an async read would not let anything else run meanwhile that matters.
 */
export function loadMappingsSync(dir: string = DEFAULT_MAPPINGS_DIR): MappingSet {
  const { maps, problems } = loadConceptMapsSync(path.join(dir, 'conceptmaps'));
  const compiled: CompiledMapping[] = [];
  for (const file of mappingFilesSync(dir)) {
    const folder = path.basename(path.dirname(file));
    const m = compileMappingFile(file, readFileSync(file, 'utf8'), maps, problems);
    if (!m) continue;
    if (m.format !== folder)
      problems.push({ file, reason: `format "${m.format}" but the file is in ${folder}/` });
    compiled.push(m);
  }
  problems.push(...conflicts(compiled));
  if (problems.length) throw new MappingLoadError(problems);
  return mappingSet(compiled, maps);
}

export async function mappingFiles(dir: string): Promise<string[]> {
  return mappingFilesSync(dir);
}

function mappingFilesSync(dir: string): string[] {
  const files: string[] = [];
  for (const sub of FORMAT_DIRS) {
    let names: string[];
    try {
      names = readdirSync(path.join(dir, sub));
    } catch {
      continue;
    }
    for (const n of names.sort()) if (/\.(ya?ml|json)$/.test(n)) files.push(path.join(dir, sub, n));
  }
  return files;
}

/** One file: syntax, schema, then compilation; undefined (with problems) when it cannot be used. */
export function compileMappingFile(
  file: string,
  text: string,
  conceptMaps: Map<string, LoadedConceptMap>,
  problems: LoadProblem[],
): CompiledMapping | undefined {
  const src = new SourceFile(file, text);
  const syntax = src.syntaxProblems();
  if (syntax.length) {
    problems.push(...syntax);
    return undefined;
  }
  const data = src.data();
  const validate = schemaValidator();
  if (!validate(data)) {
    problems.push(
      ...schemaProblems(validate.errors ?? []).map((e) => src.problem(pointerToPath(e.path), e.reason)),
    );
    return undefined;
  }
  const before = problems.length;
  const compiled = compileMapping(src, data as MappingFile, conceptMaps, problems);
  return problems.length === before ? compiled : undefined;
}

/**
 * ajv's errors, reduced to what an editor of the file needs: the field and what is wrong. `oneOf`
 * failures of a value spec are summarised once instead of one line per alternative.
 */
function schemaProblems(errors: ErrorObject[]): { path: string; reason: string }[] {
  const out = new Map<string, { path: string; reason: string }>();
  for (const e of errors) {
    let path = e.instancePath;
    let reason: string;
    if (e.keyword === 'required') {
      const field = (e.params as { missingProperty: string }).missingProperty;
      reason = `schema: "${field}" is required${path ? ` in ${path}` : ''}`;
    } else if (e.keyword === 'additionalProperties') {
      const field = (e.params as { additionalProperty: string }).additionalProperty;
      path = `${path}/${field}`;
      reason = `schema: unknown field "${field}" at ${path}`;
    } else if (e.keyword === 'oneOf') {
      reason = `schema: ${path} needs exactly one of path, fhirpath, value, reference`;
    } else if (e.keyword === 'enum') {
      reason = `schema: ${path} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    } else reason = `schema: ${path || 'the file'} ${e.message ?? 'is invalid'}`;
    // A failed oneOf alternative also reports its `required`: the oneOf line says it better.
    if (e.keyword === 'required' && /oneOf/.test(e.schemaPath)) continue;
    if (!out.has(reason)) out.set(reason, { path, reason });
  }
  return [...out.values()];
}

/**
 * Two mappings equally specific for one input: same format and feed (HL7: message type), same
 * institution — and for HL7 the same sending application, or neither naming one — or both default.
 */
function conflicts(mappings: CompiledMapping[]): LoadProblem[] {
  const problems: LoadProblem[] = [];
  const seen = new Map<string, CompiledMapping>();
  const ids = new Map<string, CompiledMapping>();
  for (const m of mappings) {
    const other = ids.get(m.id);
    if (other) problems.push({ file: m.file, reason: `mapping id "${m.id}" is also used by ${other.file}` });
    ids.set(m.id, m);
    for (const feed of m.messageTypes ?? [m.feed])
      for (const inst of m.institutions ?? ['*'])
        for (const app of m.applications ?? ['*']) {
          const what = m.format === 'hl7v2' ? `HL7 v2 ${feed}` : `${m.format} feed "${feed}"`;
          const slot = `${m.format}:${feed}:${inst}:${app}`;
          const tie = seen.get(slot);
          const whose =
            inst === '*'
              ? '(both shipped defaults)'
              : `of ${inst}${app === '*' ? '' : ` from application ${app}`}`;
          if (tie)
            problems.push({
              file: m.file,
              reason: `tie: ${m.id} and ${tie.id} (${tie.file}) are equally specific for ${what} ${whose}`,
            });
          else seen.set(slot, m);
        }
  }
  return problems;
}

export function mappingSet(
  mappings: CompiledMapping[],
  conceptMaps: Map<string, LoadedConceptMap>,
): MappingSet {
  return {
    mappings,
    conceptMaps,
    select({ institution, format, feed }) {
      const candidates = mappings.filter((m) => m.format === format && m.feed === feed);
      return (
        candidates.find((m) => m.institutions?.includes(institution)) ??
        candidates.find((m) => m.institutions === undefined)
      );
    },
    selectHl7({ institution, application, messageType }) {
      const candidates = mappings.filter((m) => m.messageTypes?.includes(messageType));
      const forInstitution = candidates.filter((m) => m.institutions?.includes(institution));
      return (
        forInstitution.find((m) => m.applications?.includes(application)) ??
        forInstitution.find((m) => m.applications === undefined) ??
        candidates.find((m) => m.institutions === undefined)
      );
    },
    byId: (id) => mappings.find((m) => m.id === id),
  };
}

let shipped: MappingSet | undefined;

/**
 * The shipped mappings (`mappings/` of this checkout), loaded once: what a pipeline uses when it
 * was built without a live set (tests, benchmarks, the worker's replays).
 */
export function shippedMappings(): MappingSet {
  return (shipped ??= loadMappingsSync(DEFAULT_MAPPINGS_DIR));
}
