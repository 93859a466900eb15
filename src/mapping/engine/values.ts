import type { LoadedConceptMap } from './conceptmaps.ts';
import { compileCondition, fhirPathScalar, type FhirPathFn } from './fhirpath.ts';
import { csvReader, jsonReader, type Reader } from './paths.ts';
import { at, compileConversion, fail, type Call } from './value-conversion.ts';
import { compileHl7Path, Hl7Value, locateHl7, type Hl7Group } from '../hl7v2-files/paths.ts';
import type { Hl7ErrorCode, Hl7Location } from '../types.ts';
import {
  fillTemplate,
  isTrue,
  location,
  textOf,
  warning,
  type InputFormat,
  type Produced,
  type Run,
  type Scope,
} from './run.ts';

/** Conversions of whole HL7 fields (composite data types): HL7 input only. */
const HL7_ONLY = new Set([
  'HumanName',
  'Address',
  'ContactPoint',
  'mrn',
  'Coding',
  'Attachment',
  'AttachmentLink',
  // An instant needs an offset; only HL7 TS is read with the institution's timezone for it.
  'instant',
]);

/** The raw shape of a value spec in a mapping file (see mappings/schema/mapping.schema.json). */
export interface ValueSpec {
  /** A path, or several: the first that holds a value (`[OBR-3.1, OBR-2.1]`). */
  path?: string | string[];
  fhirpath?: string;
  value?: unknown;
  reference?: string;
  when?: string | string[];
  required?: boolean;
  as?: string;
  map?: Record<string, string | boolean | number>;
  conceptMap?: string;
  table?: string;
  system?: string;
  display?: string;
  unit?: string;
  unitPath?: string;
  /** HL7: coding-system names (CWE-3) → URIs, e.g. { CVX: 'http://hl7.org/fhir/sid/cvx' }. */
  systems?: Record<string, string>;
  /** ContactPoint: the use when the XTN does not say (PID-13 home, PID-14 work). */
  use?: string;
  /** A warning reported whenever this element is set (e.g. a value the region cannot code). */
  warn?: string;
}

export type CompiledValue = (scope: Scope, run: Run, what: string) => unknown;

/**
 * Compiles a value spec once. The returned function gives the FHIR value, or undefined when the
 * element is to be left out; problems go to the run (errors make the message fail as a whole).
 */
export function compileValue(
  spec: ValueSpec,
  format: InputFormat,
  conceptMaps: Map<string, LoadedConceptMap>,
  /** Reports a load problem at a field of this spec. */
  refuse: (field: keyof ValueSpec, reason: string) => void,
  /** HL7: the file's FHIRPath variable names (so that `%name` is known at load). */
  varNames: readonly string[] = [],
): CompiledValue {
  const read = (p: string, field: keyof ValueSpec): Reader | undefined => {
    if (format === 'csv') return csvReader(p);
    try {
      return format === 'hl7v2' ? (compileHl7Path(p) as Reader) : jsonReader(p);
    } catch (err) {
      refuse(field, (err as Error).message);
      return undefined;
    }
  };
  const fp = (expr: string | string[], field: keyof ValueSpec): FhirPathFn | undefined => {
    try {
      return compileCondition(expr, varNames, { focusFree: format === 'hl7v2' });
    } catch (err) {
      refuse(field, `FHIRPath does not compile: ${(err as Error).message}`);
      return undefined;
    }
  };
  const paths = spec.path === undefined ? [] : [spec.path].flat();
  // Where problems are reported: the first (preferred) path.
  const firstPath = paths[0];
  const readers = paths.map((p) => read(p, 'path')).filter((r) => r !== undefined);
  const pathReader: Reader | undefined =
    readers.length === 0
      ? undefined
      : readers.length === 1
        ? readers[0]
        : (node) => {
            for (const r of readers) {
              const v = r(node);
              if (v !== undefined) return v;
            }
            return undefined;
          };
  const expr = spec.fhirpath !== undefined ? fp(spec.fhirpath, 'fhirpath') : undefined;
  const when = spec.when !== undefined ? fp(spec.when, 'when') : undefined;
  const displayReader = spec.display !== undefined ? read(spec.display, 'display') : undefined;
  const unitReader = spec.unitPath !== undefined ? read(spec.unitPath, 'unitPath') : undefined;
  const conceptMap = spec.conceptMap !== undefined ? conceptMaps.get(spec.conceptMap) : undefined;
  if (spec.conceptMap !== undefined && !conceptMap)
    refuse('conceptMap', `ConceptMap "${spec.conceptMap}" is not in mappings/conceptmaps/`);
  if (format !== 'hl7v2' && spec.as !== undefined && HL7_ONLY.has(spec.as))
    refuse('as', `${spec.as} converts an HL7 field: it is for HL7 v2 input only`);
  if (format !== 'hl7v2' && spec.systems !== undefined)
    refuse('systems', 'systems (HL7 coding-system names) is for HL7 v2 input only');
  if (
    format !== 'hl7v2' &&
    spec.as === 'CodeableConcept' &&
    (spec.table === undefined) === (spec.system === undefined)
  )
    refuse(
      'as',
      'a CodeableConcept needs either table (local codes) or system (codes already in a standard system)',
    );
  if (format === 'hl7v2' && spec.display !== undefined && spec.path !== undefined)
    refuse(
      'display',
      'a coded HL7 field carries its own display (CE/CWE component 2): display is for a code computed by fhirpath or given as value',
    );
  if (spec.as === 'Identifier' && spec.system === undefined) refuse('as', 'an Identifier needs system');
  if (spec.as === 'Quantity' && spec.unit === undefined && spec.unitPath === undefined)
    refuse('as', 'a Quantity needs unit or unitPath');
  // HL7: where a missing required value should have been, for the ERR segment (101 a field
  // missing, 100 the whole segment).
  const missingAt = (scope: Scope): (Hl7Location & { code: Hl7ErrorCode }) | undefined => {
    if (format !== 'hl7v2' || firstPath === undefined) return undefined;
    const at = locateHl7(scope.node as Hl7Group, firstPath);
    return at ? { ...at, code: at.field === undefined ? '100' : '101' } : undefined;
  };
  const templated = spec.value !== undefined && /\{(base|institution)\}/.test(JSON.stringify(spec.value));

  // The condition is asked before anything else is set up: most conditional elements of a
  // repeat (an OBX's value by its type) are skipped, and the helpers below cost a closure each.
  const produce: CompiledValue = (scope, run, what) => {
    if (
      when &&
      !isTrue(when(scope.fp, scope.env ?? run.env), () =>
        run.errors.push({
          text: `${what}: condition ${spec.when} did not give a boolean`,
          expression: location(run, scope),
        }),
      )
    )
      return undefined;
    return evaluate(scope, run, what);
  };

  const guarded = compileConversion(spec, { format, conceptMap, unitReader, displayReader, firstPath });

  const evaluate: CompiledValue = (scope, run, what) => {
    const c: Call = { scope, run, what, failed: false };
    const env = scope.env ?? run.env;
    let raw: unknown;
    if (spec.reference !== undefined) {
      const found = resolveReference(run.produced.get(spec.reference) ?? [], scope.chain ?? ['']);
      if (found) return found;
      return spec.required
        ? fail(c, `refers to "${spec.reference}", which this message does not produce`)
        : undefined;
    } else if (pathReader) {
      const missing = format === 'csv' && paths.find((p) => !(p in (scope.node as Record<string, string>)));
      if (missing) return fail(c, `the file has no column "${missing}"`, missing);
      raw = pathReader(scope.node);
    } else if (expr) {
      raw = fhirPathScalar(expr(scope.fp, env));
    } else if (spec.value !== undefined) {
      raw = templated ? JSON.parse(fillTemplate(JSON.stringify(spec.value), run)) : spec.value;
    }
    if (raw === undefined || raw === '') {
      return spec.required ? fail(c, `a required value is missing`, firstPath, missingAt(scope)) : undefined;
    }
    if (spec.map) {
      // HL7 `[*]`: each repetition is looked up on its own.
      if (Array.isArray(raw)) {
        const out = [];
        for (const item of raw) {
          const m = mapOne(c, item);
          if (m !== undefined) out.push(m);
        }
        if (out.length === 0) return undefined;
        raw = out;
      } else {
        raw = mapOne(c, raw);
        if (raw === undefined) return undefined;
      }
    }
    // HL7 `[*]`: every repetition converted; the element gets the list.
    if (format === 'hl7v2' && Array.isArray(raw) && pathReader) {
      const out = raw.map((v) => guarded(c, v)).filter((x) => x !== undefined);
      if (out.length === 0 && spec.required) return fail(c, 'a required value is missing', firstPath);
      return out.length ? out : undefined;
    }
    const one = guarded(c, raw);
    // An HL7 field can hold nothing usable for its type (a CX list without an MRN…).
    if (one === undefined && spec.required && !c.failed)
      return fail(
        c,
        'a required value is missing',
        firstPath,
        raw instanceof Hl7Value ? { ...raw.at, code: '101' } : undefined,
      );
    return one;
  };

  /** A `map` lookup; an unlisted value is a warning and left out (an error when required: 103). */
  function mapOne(c: Call, raw: unknown): unknown {
    const key = textOf(raw);
    if (Object.prototype.hasOwnProperty.call(spec.map, key)) return spec.map![key];
    const text = `"${key}" is not one of ${Object.keys(spec.map!).join(', ')}`;
    if (spec.required)
      return fail(c, text, firstPath, raw instanceof Hl7Value ? { ...raw.at, code: '103' } : undefined);
    c.run.issues.push(
      warning(
        `${c.what}: ${text}; left out`,
        at(c, firstPath),
        'code-invalid',
        raw instanceof Hl7Value ? { ...raw.at, code: '103' } : undefined,
      ),
    );
    return undefined;
  }

  if (spec.warn === undefined) return produce;
  const text = spec.warn;
  return (scope, run, what) => {
    const v = produce(scope, run, what);
    if (v !== undefined) run.issues.push(warning(`${what}: ${text}`, location(run, scope, firstPath)));
    return v;
  };
}

/**
 * `reference: name` from a scope: the resource of that name produced in this group or a group
 * around it (an OBX's report, the message's patient); else every one produced inside this group
 * (a report's results), as a list for an appending target.
 */
function resolveReference(
  produced: readonly Produced[],
  chain: readonly string[],
): { reference: string } | { reference: string }[] | undefined {
  const around = produced.find((p) => chain.includes(p.chain[0]!));
  if (around) return { reference: around.fullUrl };
  const inside = produced.filter((p) => p.chain.includes(chain[0]!));
  return inside.length ? inside.map((p) => ({ reference: p.fullUrl })) : undefined;
}

/** A condition holds only on `[true]`; empty and `[false]` do not; anything else is an error. */
