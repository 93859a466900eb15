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
export function compileFhirPath(expr: string, varNames: readonly string[] = []): FhirPathFn {
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
  return (node, env) => {
    try {
      const out = fn(node, env);
      if (!Array.isArray(out))
        throw new Error('asynchronous FHIRPath functions are not supported in mappings');
      return out;
    } catch (err) {
      throw new Error(`FHIRPath ${JSON.stringify(expr)} failed: ${describe(err)}`, { cause: err });
    }
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
