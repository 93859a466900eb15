import type { ContactPoint, Identifier, OperationOutcomeIssue } from 'fhir/r4';
import { isLosslessNumber } from 'lossless-json';
import { checkNationalId, NATIONAL_ID_SYSTEM } from '../../identity/national-id.ts';
import type { LoadedConceptMap } from './conceptmaps.ts';
import { ConversionError, toBoolean, toDate, toDateTime, toDecimal, toInteger, ucumUnit } from './convert.ts';
import { compileCondition, fhirPathScalar, type FhirPathFn } from './fhirpath.ts';
import { csvReader, jsonReader, type Reader } from './paths.ts';
import { compileHl7Path, Hl7Value, locateHl7, type Hl7Group } from '../hl7v2-files/paths.ts';
import {
  chooseMrn,
  chooseNationalId,
  hl7Address,
  hl7CodeableConcept,
  hl7Attachment,
  hl7Decimal,
  hl7AttachmentLink,
  hl7ContactPoint,
  hl7DateTime,
  hl7HumanName,
  hl7Identifier,
} from '../hl7v2-files/conversions.ts';
import type { Hl7ErrorCode, Hl7Location } from '../types.ts';

export type InputFormat = 'csv' | 'json' | 'hl7v2';

/** Conversions of whole HL7 fields (composite data types): HL7 input only. */
const HL7_ONLY = new Set([
  'HumanName',
  'Address',
  'ContactPoint',
  'mrn',
  'Coding',
  'Attachment',
  'AttachmentLink',
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

export type CompiledValue = (scope: Scope, run: Run, what: string) => unknown;

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
      const key = textOf(raw);
      if (!Object.prototype.hasOwnProperty.call(spec.map, key)) {
        const text = `${what}: "${key}" is not one of ${Object.keys(spec.map).join(', ')}`;
        if (spec.required)
          return fail(
            c,
            text.slice(what.length + 2),
            firstPath,
            raw instanceof Hl7Value ? { ...raw.at, code: '103' } : undefined,
          );
        run.issues.push(warning(`${text}; left out`, at(c, firstPath), 'code-invalid'));
        return undefined;
      }
      raw = spec.map[key];
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

  // Conversions of one evaluation (`c`): defined once per compiled value, not per call.
  function at(c: Call, where?: string) {
    return location(c.run, c.scope, where);
  }

  function fail(c: Call, text: string, where?: string, hl7?: Hl7Location & { code: Hl7ErrorCode }) {
    c.run.errors.push({ text: `${c.what}: ${text}`, expression: at(c, where), ...(hl7 ? { hl7 } : {}) });
    return undefined;
  }

  function guarded(c: Call, v: unknown): unknown {
    try {
      return convert(c, v);
    } catch (err) {
      if (!(err instanceof ConversionError)) throw err;
      c.failed = true;
      return fail(c, err.message, firstPath, v instanceof Hl7Value ? { ...v.at, code: '102' } : undefined);
    }
  }

  function convert(c: Call, v: unknown): unknown {
    if (v instanceof Hl7Value) return convertHl7(c, v);
    switch (spec.as) {
      case undefined:
        return v;
      case 'string':
      case 'code':
        return textOf(v);
      case 'integer':
        return toInteger(v);
      case 'decimal':
        return number(v);
      case 'boolean':
        return toBoolean(v);
      case 'date':
        if (format === 'hl7v2') return hl7DateTime(textOf(v), c.run.timezone, MSH1, 'date');
        return toDate(textOf(v));
      case 'instant':
        if (format === 'hl7v2') return hl7DateTime(textOf(v), c.run.timezone, MSH1, 'instant');
        throw new ConversionError('instant is for HL7 v2 input only');
      case 'dateTime':
        if (format === 'hl7v2') return hl7DateTime(textOf(v), c.run.timezone, MSH1, 'dateTime');
        return toDateTime(textOf(v), c.run.timezone);
      case 'Quantity':
        return quantity(c, v);
      case 'CodeableConcept':
        return codeableConcept(c, textOf(v));
      case 'Identifier':
        return { system: fillTemplate(spec.system!, c.run), value: textOf(v) };
      case 'nationalId':
        return nationalId(c, textOf(v));
      default:
        throw new ConversionError(`unknown conversion "${spec.as}"`);
    }
  }

  /** A value read by an HL7 path: composite types convert the whole field repetition. */
  function convertHl7(c: Call, v: Hl7Value): unknown {
    switch (spec.as) {
      case 'dateTime':
      case 'date':
      case 'instant':
        return hl7DateTime(v.text, c.run.timezone, v.at, spec.as);
      case 'CodeableConcept':
        return codeableOf(c, v);
      case 'Coding':
        return codeableOf(c, v)?.coding?.[0];
      case 'Attachment':
        return hl7Attachment(v);
      case 'AttachmentLink':
        return hl7AttachmentLink(v);
      case 'Identifier':
        return hl7Identifier(v, fillTemplate(spec.system!, c.run));
      case 'HumanName':
        return hl7HumanName(v);
      case 'Address':
        return hl7Address(v);
      case 'ContactPoint':
        return hl7ContactPoint(v, spec.use as ContactPoint['use']);
      case 'mrn':
        return chooseMrn(v);
      case 'nationalId': {
        const id = chooseNationalId(v);
        return id === undefined ? undefined : nationalId(c, id);
      }
      default:
        return convert(c, v.text);
    }
  }

  function codeableOf(c: Call, v: Hl7Value) {
    return hl7CodeableConcept(
      v,
      {
        base: c.run.base,
        institution: c.run.institution,
        ...(spec.systems ? { systems: spec.systems } : {}),
        ...(spec.system ? { system: fillTemplate(spec.system, c.run) } : {}),
        ...(spec.table ? { table: spec.table } : {}),
        ...(conceptMap ? { conceptMap } : {}),
      },
      (code, hl7System) =>
        c.run.issues.push(
          warning(
            `${c.what}: local code "${code}"${hl7System ? ` (coding system "${hl7System}")` : ''} has no translation${conceptMap ? ` in ConceptMap ${conceptMap.id}` : ''}; kept with its local system`,
            at(c, firstPath),
            'code-invalid',
          ),
        ),
    );
  }

  /** HL7 NM allows `+5`, `.5`, `05`: normalised to FHIR decimal text (kept exact). */
  function number(v: unknown) {
    if (format !== 'hl7v2') return toDecimal(v);
    const d = hl7Decimal(textOf(v));
    if (!d) throw new ConversionError(`"${textOf(v)}" is not a number`);
    return d;
  }

  function quantity(c: Call, v: unknown) {
    const value = number(v);
    const unitRaw = unitReader ? unitReader(c.scope.node) : spec.unit;
    if (unitRaw === undefined) return { value };
    const unit = textOf(unitRaw);
    const ucum = ucumUnit(unit);
    if (ucum.code) return { value, unit, system: 'http://unitsofmeasure.org', code: ucum.code };
    c.run.issues.push(
      warning(`${c.what}: ${ucum.problem}; kept as text`, at(c, spec.unitPath ?? firstPath), 'code-invalid'),
    );
    return { value, unit };
  }

  function codeableConcept(c: Call, code: string) {
    const display = displayReader ? displayReader(c.scope.node) : undefined;
    const text = display === undefined ? undefined : textOf(display);
    const own = {
      system: spec.system
        ? fillTemplate(spec.system, c.run)
        : `${c.run.base}/CodeSystem/local/${c.run.institution}/${spec.table}`,
      code,
      ...(text ? { display: text } : {}),
    };
    if (spec.system) return { coding: [own], ...(text ? { text } : {}) };
    const translated = conceptMap?.translate(code) ?? [];
    if (translated.length === 0)
      c.run.issues.push(
        warning(
          `${c.what}: local code "${code}" (table ${spec.table}) has no translation${conceptMap ? ` in ConceptMap ${conceptMap.id}` : ''}; kept with its local system`,
          at(c, firstPath),
          'code-invalid',
        ),
      );
    return { coding: [...translated, own], ...(text ? { text } : {}) };
  }

  function nationalId(c: Call, value: string): Identifier {
    const check = checkNationalId(value);
    const id: Identifier = {
      use: 'official',
      type: { coding: [{ system: V2_0203, code: 'NI' }] },
      system: NATIONAL_ID_SYSTEM,
      value: check.value,
    };
    if (!check.valid) {
      id.extension = [
        { url: `${c.run.base}/StructureDefinition/identifier-verification`, valueCode: 'unverified' },
      ];
      c.run.issues.push(
        warning(
          `${c.what}: national ID fails verification (${check.reason}); kept as unverified`,
          at(c, firstPath),
          'business-rule',
        ),
      );
    }
    return id;
  }

  if (spec.warn === undefined) return produce;
  const text = spec.warn;
  return (scope, run, what) => {
    const v = produce(scope, run, what);
    if (v !== undefined) run.issues.push(warning(`${what}: ${text}`, location(run, scope, firstPath)));
    return v;
  };
}

/** One evaluation of a compiled value: where, for whom, and whether a conversion failed. */
interface Call {
  readonly scope: Scope;
  readonly run: Run;
  readonly what: string;
  failed: boolean;
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
const MSH1: Hl7Location = { segment: 'MSH', sequence: 1 };

export function isTrue(out: unknown[], wrong: () => void): boolean {
  if (out.length === 0) return false;
  if (out.length === 1 && typeof out[0] === 'boolean') return out[0];
  wrong();
  return false;
}

export function warning(
  text: string,
  expression: string,
  code: OperationOutcomeIssue['code'] = 'informational',
): OperationOutcomeIssue {
  return { severity: 'warning', code, diagnostics: text, expression: [expression] };
}
