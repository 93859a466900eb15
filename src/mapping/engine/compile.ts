import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry } from 'fhir/r4';
import type { CsvRow } from '../../parse/csv/parse-csv.ts';
import { stampProvenance } from '../fhir/stamp.ts';
import { MappingError, type MappedMessage, type MappingContext } from '../types.ts';
import type { LoadedConceptMap } from './conceptmaps.ts';
import { normaliseOffset } from './convert.ts';
import { compileFhirPath, describe, type FhirPathFn } from './fhirpath.ts';
import { jsonReader, compileTarget, type Reader, type Setter } from './paths.ts';
import type { LoadProblem, SourceFile } from './problems.ts';
import { toPlainNumbers } from '../../kernel/fhir-json.ts';
import { parseHl7, ParsedHl7 } from '../../parse/hl7v2/index.ts';
import { compileGroupPath, messageGroup, type Hl7Group } from '../hl7v2-files/paths.ts';
import { compileVars, type Hl7Vars } from '../hl7v2-files/vars.ts';
import {
  compileValue,
  fillTemplate,
  isTrue,
  location,
  V2_0203,
  type CompiledValue,
  type InputFormat,
  type Run,
  type Scope,
  type ValueSpec,
} from './values.ts';

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
  /** CSV/JSON: MappedMessage.type; HL7: the MSH-9 type handled (`ORM^O01`). */
  messageType?: string;
  /** HL7: FHIRPath variables, name → HL7 path read in the current segment group. */
  vars?: Record<string, string>;
  controlId?: ValueSpec;
  eventTime?: ValueSpec;
  resources: {
    name: string;
    type: string;
    when?: string;
    repeat?: string;
    key: { system: string; type?: string; value: ValueSpec };
    elements: (ValueSpec & { target: string })[];
  }[];
}

export interface CompiledMapping {
  readonly id: string;
  readonly version: string;
  readonly format: InputFormat;
  /** CSV/JSON: the feed; HL7: the message type (`VXU^V04`). */
  readonly feed: string;
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
  repeat?: { pointer: string; read: Reader } | { pointer: string; groups: (root: Hl7Group) => Hl7Group[] };
  keySystem: string;
  keyType?: string;
  keyValue: CompiledValue;
  elements: { target: string; set: Setter; value: CompiledValue }[];
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
  const varNames = vars?.names ?? [];
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
    if (r.when !== undefined) {
      try {
        when = compileFhirPath(r.when, varNames);
      } catch (err) {
        at([...path, 'when'], `FHIRPath does not compile: ${(err as Error).message}`);
      }
    }
    const elements = r.elements.map((e, j) => {
      const epath = [...path, 'elements', j];
      if (e.reference !== undefined) {
        const target = names.get(e.reference);
        if (!target) at([...epath, 'reference'], `no resource is named "${e.reference}"`);
        else if (target.repeated)
          at([...epath, 'reference'], `"${e.reference}" repeats: it cannot be referred to by name`);
        else if (target.index === i) at([...epath, 'reference'], 'a resource cannot refer to itself');
      }
      let set: Setter = () => undefined;
      try {
        set = compileTarget(e.target);
      } catch (err) {
        at([...epath, 'target'], (err as Error).message);
      }
      return { target: e.target, set, value: value(e, epath) };
    });
    return {
      name: r.name,
      type: r.type,
      ...(when ? { when } : {}),
      ...(repeat ? { repeat } : {}),
      keySystem: r.key.system,
      ...(r.key.type !== undefined ? { keyType: r.key.type } : {}),
      keyValue: value({ ...r.key.value, required: true, as: 'string' }, [...path, 'key', 'value']),
      elements,
    };
  });
  const controlId = m.controlId ? value({ ...m.controlId, as: 'string' }, ['controlId']) : undefined;
  const eventTime = m.eventTime ? value({ as: 'dateTime', ...m.eventTime }, ['eventTime']) : undefined;
  const tag = `${m.id}@${m.version}`;
  const feed = hl7 ? (m.messageType ?? '') : (m.feed ?? '');
  const messageType = m.messageType ?? `${m.format}:${m.feed}`;

  function map(input: CsvRow | ParsedHl7 | unknown, ctx: MappingContext): MappedMessage {
    const msg = hl7 ? hl7Message(input) : undefined;
    const { run, root } = start(msg ?? input, ctx);
    const entries: BundleEntry[] = [];
    const keys = new Set<string>();
    const guard = <T>(f: () => T, expression: string): T | undefined => {
      try {
        return f();
      } catch (err) {
        run.errors.push({ text: describe(err), expression });
        return undefined;
      }
    };
    const evTime = eventTime
      ? guard(() => eventTime(root, run, 'eventTime'), location(run, root))
      : undefined;
    // Keys first: references may point forward, and fullUrls derive from keys alone.
    const planned = resources.flatMap((r) =>
      scopesOf(r, root, run, vars).flatMap((scope) => {
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
              location(run, scope),
            )
          : true;
        if (!produce) return [];
        const key = guard(() => r.keyValue(scope, run, `${what} key`), location(run, scope)) as
          string | undefined;
        if (key === undefined) return [];
        const system = fillTemplate(r.keySystem, run);
        const fullUrl = deterministicUrl(run.institution, ctx.archiveId, `${r.type}|${system}|${key}`);
        if (keys.has(fullUrl)) {
          run.errors.push({
            text: `${what}: key ${system}|${key} is produced twice by this message`,
            expression: location(run, scope),
          });
          return [];
        }
        keys.add(fullUrl);
        if (!r.repeat) run.fullUrls.set(r.name, fullUrl);
        return [{ r, scope, key, system, fullUrl }];
      }),
    );
    for (const { r, scope, key, system, fullUrl } of planned) {
      const resource: Record<string, any> = {
        resourceType: r.type,
        identifier: [keyIdentifier(system, key, r.keyType)],
      };
      for (const e of r.elements) {
        const v = guard(() => e.value(scope, run, `${r.name}.${e.target}`), location(run, scope));
        if (v !== undefined) e.set(resource, v);
      }
      stampProvenance(resource, ctx, tag, typeof evTime === 'string' ? evTime : undefined);
      const url = `${r.type}?identifier=${encodeURIComponent(system)}|${encodeURIComponent(key)}`;
      entries.push({
        fullUrl,
        resource: resource as BundleEntry['resource'],
        request: { method: 'PUT', url },
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
    const cid = controlId ? guard(() => controlId(root, run, 'controlId'), location(run, root)) : undefined;
    return {
      type: msg ? msg.messageType : messageType,
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
      fullUrls: new Map(),
      issues: [],
      errors: [],
    };
    const rootScope: Scope = { node, fp, pointer: '' };
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
    if (parsed.messageType !== m.messageType)
      throw new MappingError(
        [
          {
            severity: 'error',
            text: `mapping ${tag} handles ${m.messageType}, not ${parsed.messageType}`,
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
    ...(m.institutions ? { institutions: m.institutions } : {}),
    ...(m.applications ? { applications: m.applications } : {}),
    file: src.file,
    map,
  };
}

/** The scopes a resource is produced in: the root, or each item of its repeat array. */
function scopesOf(r: CompiledResource, root: Scope, run: Run, vars?: Hl7Vars): Scope[] {
  if (!r.repeat) return [root];
  if ('groups' in r.repeat)
    return r.repeat.groups(root.node as Hl7Group).map((g) => ({
      node: g,
      fp: root.fp,
      pointer: g.label,
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
  return items.map((node, i) => ({ node, fp: fpItems[i], pointer: `${r.repeat!.pointer}/${i}` }));
}

function keyIdentifier(system: string, value: string, type?: string) {
  return {
    use: 'usual',
    ...(type ? { type: { coding: [{ system: V2_0203, code: type }] } } : {}),
    system,
    value,
  };
}

/**
 * A urn:uuid stable for one archived message and one key (as the built-in HL7 mapping does), so
 * that a replay of the same archive row yields the same Bundle.
 */
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
