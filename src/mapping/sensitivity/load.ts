import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Coding } from 'fhir/r4';
import { MappingLoadError, SourceFile, pointerToPath, type LoadProblem } from '../engine/problems.ts';
import { normaliseCode, type CodeSet } from './codes.ts';
import { typesOfElement } from './elements.ts';

const SENSITIVITY_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../mappings/sensitivity',
);
/** The shipped rule table. */
export const DEFAULT_SENSITIVITY_RULES = path.join(SENSITIVITY_DIR, 'rules.yaml');
const SCHEMA_FILE = path.join(SENSITIVITY_DIR, 'rules.schema.json');
const DEFAULT_BASE = 'https://county-hie.org/fhir';
export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

/** The file as written (after the schema check). */
interface RuleTableFile {
  version: number;
  propagate?: string[];
  rules: {
    id: string;
    label: string;
    display?: string;
    elements: string[];
    match: { systems: string[]; codes?: string[]; prefixes?: string[]; ranges?: string[] }[];
  }[];
}

export interface SensitivityRule {
  readonly id: string;
  /** The meta.security coding this rule sets (R is added beside it by the labeller). */
  readonly label: Coding;
}

/** One rule as it applies to one element of one resource type. */
export interface ElementRule {
  readonly rule: SensitivityRule;
  /** Element names below the resource, e.g. ['code'] or ['component', 'code']. */
  readonly steps: readonly string[];
  /** Code sets by system URI ({base} already replaced). */
  readonly bySystem: ReadonlyMap<string, readonly CodeSet[]>;
}

export interface SensitivityRules {
  readonly file: string;
  readonly version: number;
  readonly rules: readonly SensitivityRule[];
  /** Every distinct label the table can set: what propagation passes on, R aside. */
  readonly labels: readonly Coding[];
  /** The same labels by `system|code`, built once so that labelling a Bundle builds nothing. */
  readonly labelByKey: ReadonlyMap<string, Coding>;
  /** Resource type → the rules looking at its elements (the labeller's index). */
  readonly byType: ReadonlyMap<string, readonly ElementRule[]>;
  /** Resource type → reference element paths along which labels propagate. */
  readonly propagate: ReadonlyMap<string, readonly (readonly string[])[]>;
}

export interface SensitivityLoadOptions {
  /** Replaces `{base}` in systems; HIE_CANONICAL_BASE (default https://county-hie.org/fhir). */
  canonicalBase?: string;
}

/** Reads and compiles a rule table; throws MappingLoadError (file, line, reason) when refused. */
export function loadSensitivityRules(
  file: string = DEFAULT_SENSITIVITY_RULES,
  options: SensitivityLoadOptions = {},
): SensitivityRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new MappingLoadError([{ file, reason: `cannot read: ${(err as Error).message}` }]);
  }
  const { rules, problems } = parseSensitivityRules(file, text, options);
  if (!rules) throw new MappingLoadError(problems);
  return rules;
}

/** The same check without throwing, so that `hie mapping lint` can list every problem. */
export function parseSensitivityRules(
  file: string,
  text: string,
  options: SensitivityLoadOptions = {},
): { rules?: SensitivityRules; problems: LoadProblem[] } {
  const src = new SourceFile(file, text);
  const syntax = src.syntaxProblems();
  if (syntax.length) return { problems: syntax };
  const data = src.data();
  const validate = schemaValidator();
  if (!validate(data)) {
    return {
      problems: schemaProblems(validate.errors ?? []).map((e) =>
        src.problem(pointerToPath(e.path), e.reason),
      ),
    };
  }
  const problems: LoadProblem[] = [];
  const rules = compile(src, data as RuleTableFile, options.canonicalBase ?? DEFAULT_BASE, problems);
  return problems.length ? { problems } : { rules, problems };
}

let validator: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(
    JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')),
  );
  return validator;
}

/** ajv's errors as an editor of the table needs them: the field and what is wrong, once each. */
function schemaProblems(errors: ErrorObject[]): { path: string; reason: string }[] {
  const out = new Map<string, { path: string; reason: string }>();
  for (const e of errors) {
    let at = e.instancePath;
    let reason: string;
    if (e.keyword === 'required' && /anyOf/.test(e.schemaPath)) {
      reason = `schema: ${at} needs at least one of codes, prefixes, ranges`;
    } else if (e.keyword === 'anyOf') {
      continue; // said by the line above
    } else if (e.keyword === 'required') {
      const field = (e.params as { missingProperty: string }).missingProperty;
      reason = `schema: "${field}" is required${at ? ` in ${at}` : ''}`;
    } else if (e.keyword === 'additionalProperties') {
      const field = (e.params as { additionalProperty: string }).additionalProperty;
      at = `${at}/${field}`;
      reason = `schema: unknown field "${field}" at ${at}`;
    } else reason = `schema: ${at || 'the file'} ${e.message ?? 'is invalid'}`;
    if (!out.has(reason)) out.set(reason, { path: at, reason });
  }
  return [...out.values()];
}

/** Checks what the schema cannot (ids, ranges, R4 element paths) and builds the index. */
function compile(
  src: SourceFile,
  data: RuleTableFile,
  base: string,
  problems: LoadProblem[],
): SensitivityRules {
  const rules: SensitivityRule[] = [];
  const labels = new Map<string, Coding>();
  const byType = new Map<string, ElementRule[]>();
  const seen = new Set<string>();

  data.rules.forEach((r, i) => {
    if (seen.has(r.id)) problems.push(src.problem(['rules', i, 'id'], `rule id "${r.id}" is used twice`));
    seen.add(r.id);
    const [system = '', code = ''] = r.label.split('|');
    if (system === CONFIDENTIALITY_SYSTEM)
      problems.push(
        src.problem(
          ['rules', i, 'label'],
          'confidentiality R is added to every labelled resource; a rule sets a sensitivity code',
        ),
      );
    const label: Coding = { system, code, ...(r.display ? { display: r.display } : {}) };
    const rule: SensitivityRule = { id: r.id, label };
    rules.push(rule);
    if (!labels.has(r.label)) labels.set(r.label, label);

    const bySystem = new Map<string, CodeSet[]>();
    r.match.forEach((m, j) => {
      const set = codeSet(m, (k, reason) =>
        problems.push(src.problem(['rules', i, 'match', j, 'ranges', k], reason)),
      );
      for (const s of m.systems) {
        const uri = s.replaceAll('{base}', base);
        bySystem.set(uri, [...(bySystem.get(uri) ?? []), set]);
      }
    });

    r.elements.forEach((el, j) => {
      const types = typesOfElement(el);
      if (!types)
        return problems.push(src.problem(['rules', i, 'elements', j], `"${el}" is not an R4 element`));
      if (!types.some((t) => t === 'CodeableConcept' || t === 'Coding'))
        return problems.push(
          src.problem(
            ['rules', i, 'elements', j],
            `"${el}" is ${types.join('|')}, not a CodeableConcept or Coding`,
          ),
        );
      const [type = '', ...steps] = el.split('.');
      byType.set(type, [...(byType.get(type) ?? []), { rule, steps, bySystem }]);
    });
  });

  const propagate = new Map<string, string[][]>();
  (data.propagate ?? []).forEach((el, i) => {
    const types = typesOfElement(el);
    if (!types) return problems.push(src.problem(['propagate', i], `"${el}" is not an R4 element`));
    if (!types.includes('Reference'))
      return problems.push(src.problem(['propagate', i], `"${el}" is ${types.join('|')}, not a Reference`));
    const [type = '', ...steps] = el.split('.');
    propagate.set(type, [...(propagate.get(type) ?? []), steps]);
  });

  return {
    file: src.file,
    version: data.version,
    rules,
    labels: [...labels.values()],
    labelByKey: labels,
    byType,
    propagate,
  };
}

function codeSet(
  m: RuleTableFile['rules'][number]['match'][number],
  problem: (index: number, reason: string) => void,
): CodeSet {
  const ranges = (m.ranges ?? []).map((r, k) => {
    const [from = '', to = ''] = normaliseCode(r).split('-');
    if (from > to) problem(k, `range "${r}" is empty: ${from} comes after ${to}`);
    return [from, to] as const;
  });
  return {
    codes: new Set((m.codes ?? []).map(normaliseCode)),
    prefixes: (m.prefixes ?? []).map(normaliseCode),
    ranges,
  };
}
