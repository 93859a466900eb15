import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry } from 'fhir/r4';
import type { CsvRow } from '../../parse/csv/parse-csv.ts';
import { stampProvenance } from '../fhir/stamp.ts';
import { MappingError, type MappedMessage, type MappingContext } from '../types.ts';
import type { LoadedConceptMap } from './conceptmaps.ts';
import { normaliseOffset } from './convert.ts';
import { compileCondition, describe, type FhirPathFn } from './fhirpath.ts';
import { jsonReader, compileTarget, type Reader, type Setter } from './paths.ts';
import type { LoadProblem, SourceFile } from './problems.ts';
import { toPlainNumbers } from '../../kernel/fhir-json.ts';
import { parseHl7, ParsedHl7 } from '../../parse/hl7v2/index.ts';
import { compileGroupPath, messageGroup, type Hl7Group } from '../hl7v2-files/paths.ts';
import { compileVars, type Hl7Vars } from '../hl7v2-files/vars.ts';
import {
  fillTemplate,
  isTrue,
  location,
  warning,
  V2_0203,
  type InputFormat,
  type Run,
  type Scope,
} from './run.ts';
import { identifierCriteria } from '../../kernel/search-values.ts';
import { compileValue, type CompiledValue, type ValueSpec } from './values.ts';
import { compileSource, fieldOf, traceElement, type SourceOf } from './trace.ts';

/** A mapping file as the schema admits it. */
export interface MappingFile {
  id: string;
  version: string | number;
  description?: string;
  format: InputFormat;
  /** CSV/JSON: the feed name. */
  feed?: string;
  institutions?: string[];
  /** HL7: MSH-3 sending applications (with institutions: the most specific selection). */
  applications?: string[];
  /** CSV/JSON: MappedMessage.type; HL7: the MSH-9 type(s) handled (`ORM^O01`, [ADT^A01, ADT^A04]). */
  messageType?: string | string[];
  /** HL7: FHIRPath variables, name → HL7 path read in the current segment group. */
  vars?: Record<string, string | { path: string; as: 'mrn' | 'nationalId' }>;
  controlId?: ValueSpec;
  eventTime?: ValueSpec;
  resources: {
    name: string;
    type: string;
    when?: string | string[];
    /** The warning when `when` leaves the resource out. */
    otherwise?: string;
    repeat?: string;
    /** A repeat that finds no group fails the message (HL7: "no PID segment"). */
    required?: boolean;
    key: { system: string; type?: string; value: ValueSpec; optional?: boolean };
    elements: (ValueSpec & { target: string })[];
  }[];
}

export interface CompiledMapping {
  readonly id: string;
  readonly version: string;
  readonly format: InputFormat;
  /** CSV/JSON: the feed; HL7: the message types, joined by `, ` (`VXU^V04`). */
  readonly feed: string;
  /** HL7 only: every MSH-9 type (`ADT^A01`…) this mapping handles. */
  readonly messageTypes?: readonly string[];
  /** Absent: the shipped default for every institution. */
  readonly institutions?: readonly string[];
  /** HL7 only: MSH-3 sending applications this mapping is for (absent: any). */
  readonly applications?: readonly string[];
  readonly file: string;
  /**
   * A CSV row, a parsed JSON object (numbers as LosslessNumber where exact text matters), or an
   * HL7 v2 message (parsed, or its ER7 text).
   */
  map(input: CsvRow | ParsedHl7 | unknown, ctx: MappingContext): MappedMessage;
}

interface CompiledResource {
  name: string;
  type: string;
  when?: FhirPathFn;
  otherwise?: string;
  repeat?: { pointer: string; read: Reader } | { pointer: string; groups: (root: Hl7Group) => Hl7Group[] };
  required: boolean;
  keySystem: string;
  keyOptional: boolean;
  keyType?: string;
  keyValue: CompiledValue;
  /** Where the key is read (for a traced run). */
  keySource?: SourceOf;
  /** `what`: the element as problems name it (`observation.valueQuantity`). */
  elements: { target: string; what: string; set: Setter; value: CompiledValue; source?: SourceOf }[];
}

/** Compiles a schema-valid mapping file; problems (with lines) are appended to `problems`. */
export function compileMapping(
  src: SourceFile,
  m: MappingFile,
  conceptMaps: Map<string, LoadedConceptMap>,
  problems: LoadProblem[],
): CompiledMapping {
  const at = (path: (string | number)[], reason: string) => problems.push(src.problem(path, reason));
  const hl7 = m.format === 'hl7v2';
  const vars: Hl7Vars | undefined = hl7
    ? compileVars(m.vars, (name, reason) => at(['vars', name], reason))
    : undefined;
  if (!hl7 && m.vars !== undefined) at(['vars'], 'vars are for HL7 v2 input only');
  if (!hl7 && m.applications !== undefined) at(['applications'], 'applications are for HL7 v2 input only');
  if (hl7 && m.messageType === undefined)
    at(['format'], 'an HL7 v2 mapping needs messageType (e.g. ORM^O01)');
  if (!hl7 && m.feed === undefined) at(['format'], `a ${m.format} mapping needs feed`);
  // HL7 expressions also see %trigger (set per message in start()).
  const varNames = hl7 ? [...(vars?.names ?? []), 'trigger'] : [];
  const value = (spec: ValueSpec, path: (string | number)[]) =>
    compileValue(spec, m.format, conceptMaps, (field, reason) => at([...path, field], reason), varNames);
  const names = new Map(m.resources.map((r, i) => [r.name, { index: i, repeated: r.repeat !== undefined }]));
  const resources: CompiledResource[] = m.resources.map((r, i) => {
    const path = ['resources', i];
    if (names.get(r.name)?.index !== i) at([...path, 'name'], `resource name "${r.name}" is used twice`);
    if (r.repeat !== undefined && m.format === 'csv')
      at([...path, 'repeat'], 'repeat is for JSON and HL7 v2 input only');
    let repeat: CompiledResource['repeat'];
    if (r.repeat !== undefined && m.format !== 'csv') {
      try {
        repeat = hl7
          ? { pointer: r.repeat, groups: compileGroupPath(r.repeat) }
          : { pointer: r.repeat, read: jsonReader(r.repeat) };
      } catch (err) {
        at([...path, 'repeat'], (err as Error).message);
      }
    }
    let when: FhirPathFn | undefined;
    if (r.otherwise !== undefined && r.when === undefined)
      at([...path, 'otherwise'], 'otherwise needs when (it is the warning when when is false)');
    if (r.when !== undefined) {
      try {
        when = compileCondition(r.when, varNames, { focusFree: hl7 });
      } catch (err) {
        at([...path, 'when'], `FHIRPath does not compile: ${(err as Error).message}`);
      }
    }
    const elements = r.elements.map((e, j) => {
      const epath = [...path, 'elements', j];
      if (e.reference !== undefined) {
        const target = names.get(e.reference);
        if (!target) at([...epath, 'reference'], `no resource is named "${e.reference}"`);
        else if (target.index === i) at([...epath, 'reference'], 'a resource cannot refer to itself');
        // A repeated resource is the one of this group (or an enclosing group) when there is one,
        // else every one produced inside this group: only an appending target can hold a list.
        else if (target.repeated && r.repeat === undefined && !e.target.includes('[]'))
          at(
            [...epath, 'target'],
            `"${e.reference}" repeats: refer to every one of them with an appending target (result[], diagnosis[].condition)`,
          );
      }
      let set: Setter = () => undefined;
      try {
        set = compileTarget(e.target);
      } catch (err) {
        at([...epath, 'target'], (err as Error).message);
      }
      const source = compileSource(e.path, m.format);
      return {
        target: e.target,
        what: `${r.name}.${e.target}`,
        set,
        value: value(e, epath),
        ...(source ? { source } : {}),
      };
    });
    const keySource = compileSource(r.key.value.path, m.format);
    const keyAs = r.key.value.as;
    if (keyAs !== undefined && !['string', 'code', 'mrn'].includes(keyAs))
      at(
        [...path, 'key', 'value', 'as'],
        `a key is text: as may be string, code or mrn (a CX list's MRN), not ${keyAs}`,
      );
    return {
      name: r.name,
      type: r.type,
      ...(when ? { when } : {}),
      ...(r.otherwise !== undefined ? { otherwise: r.otherwise } : {}),
      ...(repeat ? { repeat } : {}),
      required: r.required === true,
      keySystem: r.key.system,
      keyOptional: r.key.optional === true,
      ...(r.key.type !== undefined ? { keyType: r.key.type } : {}),
      // A key is text: `as: mrn` picks the MRN of a CX list; anything else reads the text.
      keyValue: value(
        {
          ...r.key.value,
          required: r.key.optional !== true,
          as: r.key.value.as === 'mrn' ? 'mrn' : 'string',
        },
        [...path, 'key', 'value'],
      ),
      ...(keySource ? { keySource } : {}),
      elements,
    };
  });
  if (hl7 && m.controlId !== undefined)
    at(['controlId'], 'an HL7 message is identified by its MSH-10: controlId is for CSV and JSON files');
  const controlId = m.controlId ? value({ ...m.controlId, as: 'string' }, ['controlId']) : undefined;
  const eventTime = m.eventTime ? value({ as: 'dateTime', ...m.eventTime }, ['eventTime']) : undefined;
  const tag = `${m.id}@${m.version}`;
  const hl7Types = hl7 ? [m.messageType ?? []].flat() : undefined;
  if (hl7Types && new Set(hl7Types).size !== hl7Types.length)
    at(['messageType'], 'a message type is listed twice');
  const feed = hl7 ? hl7Types!.join(', ') : (m.feed ?? '');
  const messageType = typeof m.messageType === 'string' ? m.messageType : `${m.format}:${m.feed}`;

  function map(input: CsvRow | ParsedHl7 | unknown, ctx: MappingContext): MappedMessage {
    const msg = hl7 ? hl7Message(input) : undefined;
    const { run, root } = start(msg ?? input, ctx);
    const entries: BundleEntry[] = [];
    const keys = new Set<string>();
    // A throw (a FHIRPath failure…) is an error at the scope; its place is worded only then.
    const guard = <T>(f: () => T, at: Scope): T | undefined => {
      try {
        return f();
      } catch (err) {
        run.errors.push({ text: describe(err), expression: location(run, at) });
        return undefined;
      }
    };
    const record = (r: CompiledResource, scope: Scope, fullUrl: string) => {
      const list = run.produced.get(r.name) ?? [];
      list.push({ fullUrl, chain: scope.chain ?? [''] });
      run.produced.set(r.name, list);
    };
    const evTime = eventTime ? guard(() => eventTime(root, run, 'eventTime'), root) : undefined;
    // Keys first: references may point forward, and fullUrls derive from keys alone.
    const planned = resources.flatMap((r) => {
      const scopes = scopesOf(r, root, run, vars);
      if (scopes.length === 0 && r.required) {
        run.errors.push({
          text: `${r.name}: the message has no ${r.repeat!.pointer} ${hl7 ? 'segment' : 'item'}`,
          expression: r.repeat!.pointer,
          ...(hl7 ? { hl7: { ...groupStart(r.repeat!.pointer), sequence: 1, code: '100' as const } } : {}),
        });
      }
      return scopes.flatMap((scope, n): Planned[] => {
        const what = r.name;
        const produce = r.when
          ? guard(
              () =>
                isTrue(r.when!(scope.fp, scope.env ?? run.env), () =>
                  run.errors.push({
                    text: `${what}: condition did not give a boolean`,
                    expression: location(run, scope),
                  }),
                ),
              scope,
            )
          : true;
        if (!produce) {
          if (r.otherwise !== undefined && produce === false)
            run.issues.push(warning(`${what}: ${r.otherwise}`, location(run, scope)));
          return [];
        }
        const key = guard(() => r.keyValue(scope, run, `${what} key`), scope) as string | undefined;
        const system = fillTemplate(r.keySystem, run);
        if (key === undefined) {
          if (!r.keyOptional || run.errors.length) return [];
          // No key: the resource is created (POST), and a re-send creates it again.
          run.issues.push(
            warning(
              `${what}: the key is empty, so the ${r.type} is created anew each time this message is sent`,
              location(run, scope),
            ),
          );
          const fullUrl = deterministicUrl(
            run.institution,
            ctx.archiveId,
            `${r.type}|#${what}|${scope.pointer}|${n}`,
          );
          record(r, scope, fullUrl);
          return [{ r, scope, key: undefined, system, fullUrl }];
        }
        const fullUrl = deterministicUrl(run.institution, ctx.archiveId, `${r.type}|${system}|${key}`);
        if (keys.has(fullUrl)) {
          run.errors.push({
            text: `${what}: key ${system}|${key} is produced twice by this message`,
            expression: location(run, scope),
          });
          return [];
        }
        keys.add(fullUrl);
        record(r, scope, fullUrl);
        return [{ r, scope, key, system, fullUrl }];
      });
    });
    const trace = ctx.trace;
    for (const { r, scope, key, system, fullUrl } of planned) {
      const resource: Record<string, any> = {
        resourceType: r.type,
        ...(key !== undefined ? { identifier: [keyIdentifier(system, key, r.keyType)] } : {}),
      };
      if (trace && key !== undefined && r.keySource) {
        // A key read from a list (the MRN of PID-3's CXs) names the field, not one repetition.
        const found = r.keySource.found(scope, run);
        const at = found.length === 1 ? found[0] : found[0] && fieldOf(found[0]);
        if (at) trace.push({ entry: entries.length, element: 'identifier[0]', ...at, set: true });
      }
      for (const e of r.elements) {
        // The hottest loop (an ORU: ~30 elements per result): no closure, no text unless it throws.
        let v: unknown;
        try {
          v = e.value(scope, run, e.what);
        } catch (err) {
          run.errors.push({ text: describe(err), expression: location(run, scope) });
          continue;
        }
        if (trace) traceElement(trace, entries.length, e, scope, run, resource, v);
        else if (v !== undefined) e.set(resource, v);
      }
      stampProvenance(resource, ctx, tag, typeof evTime === 'string' ? evTime : undefined);
      entries.push({
        fullUrl,
        resource: resource as BundleEntry['resource'],
        request:
          key === undefined
            ? { method: 'POST', url: r.type }
            : {
                method: 'PUT',
                url: `${r.type}?${identifierCriteria(system, key)}`,
              },
      });
    }
    if (run.errors.length)
      throw new MappingError(
        run.errors.map((e) => ({
          severity: 'error',
          text: e.text,
          expression: e.expression,
          ...(e.hl7 ? { hl7: e.hl7 } : {}),
        })),
      );
    if (entries.length === 0)
      throw new MappingError([
        {
          severity: 'error',
          text: `mapping ${tag} produces no resource from this message`,
          expression: location(run, root),
        },
      ]);
    const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };
    const cid = controlId ? guard(() => controlId(root, run, 'controlId'), root) : undefined;
    return {
      type: msg ? eventTypeOf(msg) : messageType,
      controlId: typeof cid === 'string' ? cid : msg ? msg.controlId : contentHash(input),
      ...(typeof evTime === 'string' ? { eventTime: evTime } : {}),
      bundle,
      issues: run.issues,
    };
  }

  function start(input: unknown, ctx: MappingContext): { run: Run; root: Scope } {
    const base = ctx.canonicalBase.replace(/\/+$/, '');
    const institution = ctx.institution.id;
    let node: unknown;
    let line = 0;
    if (input instanceof ParsedHl7) {
      node = messageGroup(input);
    } else if (m.format === 'csv') {
      const row = input as Partial<CsvRow> | null;
      if (!row || typeof row.line !== 'number' || !row.cells || typeof row.cells !== 'object')
        throw new MappingError(
          [{ severity: 'error', text: `mapping ${tag} takes a CSV row`, expression: '$' }],
          'reject',
        );
      node = row.cells;
      line = row.line;
    } else {
      if (input === null || typeof input !== 'object' || Array.isArray(input))
        throw new MappingError([
          { severity: 'error', text: `mapping ${tag} takes a JSON object`, expression: '$' },
        ]);
      node = input;
    }
    // FHIRPath sees absent cells as absent (so `exists()` works) and plain numbers.
    // HL7 is seen by FHIRPath through the file's vars only (an empty focus).
    const fp = hl7
      ? {}
      : m.format === 'csv'
        ? Object.fromEntries(
            Object.entries(node as Record<string, string>)
              .map(([k, v]) => [k, v.trim()])
              .filter(([, v]) => v !== ''),
          )
        : toPlainNumbers(node);
    let timezone = '+08:00';
    try {
      timezone = normaliseOffset(ctx.institution.timezone || '+08:00');
    } catch {
      /* a registry entry with a bad offset: the contract's default */
    }
    const run: Run = {
      format: m.format,
      line,
      base,
      institution,
      timezone,
      env: { root: fp, institution, base },
      produced: new Map(),
      issues: [],
      errors: [],
    };
    // HL7: %trigger is the event (A01, R01…), so one file can serve several events of a type.
    if (input instanceof ParsedHl7) run.env.trigger = eventTypeOf(input).split('^')[1] ?? '';
    const rootScope: Scope = { node, fp, pointer: '', chain: [''] };
    if (vars) rootScope.env = vars.envFor(node as Hl7Group, run.env);
    return { run, root: rootScope };
  }

  /** The message this HL7 mapping is asked to map: parsed, of the type it handles. */
  function hl7Message(input: unknown): ParsedHl7 {
    const parsed =
      input instanceof ParsedHl7
        ? input
        : typeof input === 'string' || Buffer.isBuffer(input)
          ? parseHl7(String(input))
          : undefined;
    if (!parsed)
      throw new MappingError(
        [{ severity: 'error', text: `mapping ${tag} takes an HL7 v2 message`, expression: '$' }],
        'reject',
      );
    if (!hl7Types!.includes(eventTypeOf(parsed)))
      throw new MappingError(
        [
          {
            severity: 'error',
            text: `mapping ${tag} handles ${feed}, not ${eventTypeOf(parsed)}`,
            hl7: { segment: 'MSH', sequence: 1, field: 9, code: '200' },
          },
        ],
        'reject',
      );
    return parsed;
  }

  return {
    id: m.id,
    version: String(m.version),
    format: m.format,
    feed,
    ...(hl7Types ? { messageTypes: hl7Types } : {}),
    ...(m.institutions ? { institutions: m.institutions } : {}),
    ...(m.applications ? { applications: m.applications } : {}),
    file: src.file,
    map,
  };
}

/** A resource instance the run will produce (key undefined: created by POST). */
interface Planned {
  r: CompiledResource;
  scope: Scope;
  key: string | undefined;
  system: string;
  fullUrl: string;
}

/** The scopes a resource is produced in: the root, or each item of its repeat array. */
function scopesOf(r: CompiledResource, root: Scope, run: Run, vars?: Hl7Vars): Scope[] {
  if (!r.repeat) return [root];
  if ('groups' in r.repeat)
    return r.repeat.groups(root.node as Hl7Group).map((g) => ({
      node: g,
      fp: root.fp,
      pointer: g.label,
      chain: labelsOf(g),
      ...(vars ? { env: vars.envFor(g, run.env) } : {}),
    }));
  const items = r.repeat.read(root.node);
  if (items === undefined) return [];
  if (!Array.isArray(items)) {
    run.errors.push({
      text: `${r.name}: repeat ${r.repeat.pointer} is not an array`,
      expression: r.repeat.pointer,
    });
    return [];
  }
  const fpItems = r.repeat.read(root.fp) as unknown[];
  return items.map((node, i) => {
    const pointer = `${r.repeat!.pointer}/${i}`;
    return { node, fp: fpItems[i], pointer, chain: [pointer, ''] };
  });
}

/** A group's label and its enclosing groups' (innermost first), ending with the message's ''. */
function labelsOf(g: Hl7Group): string[] {
  const out: string[] = [];
  for (let x: Hl7Group | undefined = g; x; x = x.parent) if (out.at(-1) !== x.label) out.push(x.label);
  if (out.at(-1) !== '') out.push('');
  return out;
}

/** Where the first segment of a group path would be: `PID/OBR` → OBR's start, `[ORC]RXA` → RXA. */
function groupStart(pointer: string): { segment: string } {
  return {
    segment: pointer
      .split('/')
      .at(-1)!
      .replace(/^\[[A-Z0-9]{3}\]/, ''),
  };
}

/**
 * The message's event type: MSH-9.1^MSH-9.2, and for ADT sent without MSH-9.2 (versions before
 * 2.3) the trigger from EVN-1.
 */
export function eventTypeOf(msg: ParsedHl7): string {
  if (msg.triggerEvent || msg.messageCode !== 'ADT') return msg.messageType;
  const evn = msg.segment('EVN')?.get(1);
  return evn ? `ADT^${evn}` : msg.messageType;
}

function keyIdentifier(system: string, value: string, type?: string) {
  return {
    use: 'usual',
    ...(type ? { type: { coding: [{ system: V2_0203, code: type }] } } : {}),
    system,
    value,
  };
}

/** A urn:uuid stable for one archived message and one key: a replay of that row yields the same Bundle. */
export function deterministicUrl(institution: string, archiveId: string, key: string): string {
  const h = createHash('sha256').update(`${institution}\u0000${archiveId}\u0000${key}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 3) | 8).toString(16);
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function contentHash(input: unknown): string {
  const text =
    input instanceof ParsedHl7
      ? input.text
      : ((input as CsvRow)?.text ?? JSON.stringify(toPlainNumbers(input)));
  return createHash('sha256').update(text).digest('hex');
}
