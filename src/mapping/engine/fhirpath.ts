import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';

/**
 * A compiled FHIRPath expression: the input node and the environment (%root, %institution, %base,
 * and for HL7 input the mapping file's vars).
 */
export type FhirPathFn = (node: unknown, env: Record<string, unknown>) => unknown[];

/**
 * Compiles once, with the R4 model (choice types and dates behave as in FHIR). fhirpath.js
 * throws plain objects or strings, and reports an unknown function
 * only when it evaluates them; both kinds surface here as one message at load.
 */
export function compileFhirPath(
  expr: string,
  varNames: readonly string[] = [],
  options: { focusFree?: boolean } = {},
): FhirPathFn {
  let fn: (node: unknown, env?: Record<string, unknown>) => unknown;
  try {
    fn = fhirpath.compile(expr, r4) as unknown as typeof fn;
  } catch (err) {
    throw new Error(describe(err), { cause: err });
  }
  // Unknown functions are only noticed when evaluated: a dry run on an empty input finds them at
  // load. Other dry-run failures (types of absent data) are not errors of the expression itself.
  try {
    const vars = Object.fromEntries(varNames.map((n) => [n, []]));
    fn({}, { ...vars, root: {}, institution: 'x', base: 'x' });
  } catch (err) {
    const m = describe(err);
    if (/not implemented|undefined environment variable/i.test(m)) throw new Error(m, { cause: err });
  }
  const run: FhirPathFn = (node, env) => {
    try {
      const out = fn(node, env);
      if (!Array.isArray(out))
        throw new Error('asynchronous FHIRPath functions are not supported in mappings');
      return out;
    } catch (err) {
      throw new Error(`FHIRPath ${JSON.stringify(expr)} failed: ${describe(err)}`, { cause: err });
    }
  };
  return options.focusFree ? memoizeOnVariables(expr, run) : run;
}

const CLOCK = /\b(?:now|today|timeOfDay)\s*\(/;
const VARIABLE = /%(?:`([^`]+)`|([A-Za-z_][A-Za-z0-9_]*))/g;
const MAX_KEY_CHARS = 256;
const MAX_ENTRIES = 512;

/**
 * An expression whose focus carries no data (HL7 input, seen only through the file's variables)
 * gives the same result for the same values of the variables it names: an ORU's `%valueType = 'NM'`
 * is asked once per OBX with a handful of distinct answers. Evaluating FHIRPath costs ~15 µs, a
 * lookup well under one, so results made of primitives are kept, keyed on those values (a long
 * value such as a report text is not kept; the clock functions never are).
 */
function memoizeOnVariables(expr: string, run: FhirPathFn): FhirPathFn {
  if (CLOCK.test(expr)) return run;
  const names = [...new Set([...expr.matchAll(VARIABLE)].map((m) => m[1] ?? m[2]!))];
  const cache = new Map<string, unknown[]>();
  return (node, env) => {
    let key = '';
    for (const n of names) {
      key += keyPart(env[n]);
      if (key.length > MAX_KEY_CHARS) return run(node, env);
    }
    const hit = cache.get(key);
    if (hit) return hit.slice();
    const out = run(node, env);
    if (out.every(isPrimitive)) {
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(key, out.slice());
    }
    return out;
  };
}

/**
 * A variable's value in a cache key. HL7 variables are lists of strings: each is written with its
 * length first, so no text (whatever characters it holds) can read as another list.
 */
function keyPart(v: unknown): string {
  if (!Array.isArray(v)) return `${JSON.stringify(v) ?? '-'};`;
  let part = `${v.length}[`;
  for (const x of v) {
    if (typeof x !== 'string') return `${JSON.stringify(v)};`;
    part += `${x.length}:${x}`;
  }
  return `${part}];`;
}

const isPrimitive = (v: unknown) => typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number';

/**
 * A condition: one expression, or a list that must all give true. The list is asked in order and
 * stops at the first that does not hold, so a test on a value that differs on every item (a
 * result's text) can follow one that mostly decides alone (its value type) and that is memoised.
 */
export function compileCondition(
  when: string | readonly string[],
  varNames: readonly string[] = [],
  options: { focusFree?: boolean } = {},
): FhirPathFn {
  if (typeof when === 'string') return compileFhirPath(when, varNames, options);
  const parts = when.map((w) => compileFhirPath(w, varNames, options));
  return (node, env) => {
    let out: unknown[] = [];
    for (const part of parts) {
      out = part(node, env);
      if (!(out.length === 1 && out[0] === true)) return out;
    }
    return out;
  };
}

export function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  const m = (err as { message?: unknown })?.message;
  return typeof m === 'string' ? m.split('\n')[0]! : String(err);
}

/** A primitive out of a FHIRPath result item (FHIR dates come back as typed objects). */
export function fhirPathScalar(out: unknown[]): unknown {
  const v = out[0];
  if (v === undefined || v === null) return undefined;
  if (
    typeof v === 'object' &&
    !Array.isArray(v) &&
    typeof (v as { toString?: unknown }).toString === 'function'
  ) {
    const s = String(v);
    if (s !== '[object Object]') return s;
  }
  return v;
}
