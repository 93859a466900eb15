import type { ElementOrigin, Hl7Location } from '../types.ts';
import { compileHl7Path, locateHl7, type Hl7Group, type Hl7Reader } from '../hl7v2-files/paths.ts';
import { csvReader, jsonReader, type Reader, type Setter } from './paths.ts';
import { location, type InputFormat, type Run, type Scope } from './run.ts';

/**
 * Where each mapped element came from, recorded only in a traced run (MappingContext.trace). The
 * validator speaks of `Bundle.entry[2].resource.code.coding[0].code`; the sender knows its
 * message as `DG1-3` or `line 3, column "诊断编码"`. A traced run sets every element exactly as
 * the usual run does and notes, beside it, which input place gave which FHIR element.
 */

/** A place in the input that gave a value. */
interface Source {
  source: string;
  hl7?: Hl7Location;
}

/** Reads where an element's value is (each HL7 repetition its own place) and where it would be. */
export interface SourceOf {
  found(scope: Scope, run: Run): Source[];
  expected(scope: Scope, run: Run): Source;
}

/**
 * The places an element spec reads: undefined for a fixed value, a reference or a FHIRPath
 * (there is no one field of the input to name).
 */
export function compileSource(
  path: string | string[] | undefined,
  format: InputFormat,
): SourceOf | undefined {
  if (path === undefined) return undefined;
  const paths = [path].flat();
  if (format === 'hl7v2') {
    // Paths that do not compile were refused at load, so a traced run never meets one.
    const readers = paths.flatMap((p) => (isHl7Path(p) ? [{ p, read: compileHl7Path(p) as Hl7Reader }] : []));
    return {
      // HL7 places are named from the message itself (`OBX[5]-3`), not from the group scope.
      found(scope) {
        for (const { read } of readers) {
          const v = read(scope.node as Hl7Group);
          if (v === undefined) continue;
          return (Array.isArray(v) ? v : [v]).map((x) => ({ source: hl7PathOf(x.at), hl7: x.at }));
        }
        return [];
      },
      expected(scope, run) {
        const at = locateHl7(scope.node as Hl7Group, paths[0]!);
        return at ? { source: hl7PathOf(at), hl7: at } : { source: location(run, scope, paths[0]) };
      },
    };
  }
  const readers: { p: string; read: Reader }[] = paths.flatMap((p) => {
    if (format === 'csv') return [{ p, read: csvReader(p) }];
    try {
      return [{ p, read: jsonReader(p) }];
    } catch {
      return [];
    }
  });
  return {
    found(scope, run) {
      const hit = readers.find((r) => r.read(scope.node) !== undefined);
      return hit ? [{ source: location(run, scope, hit.p) }] : [];
    },
    expected: (scope, run) => ({ source: location(run, scope, paths[0]) }),
  };
}

function isHl7Path(p: string): boolean {
  try {
    compileHl7Path(p);
    return true;
  } catch {
    return false;
  }
}

/** What a traced run needs of a compiled element. */
export interface TracedElement {
  target: string;
  set: Setter;
  source?: SourceOf;
}

/**
 * Sets `value` (as the usual run would) and records which FHIR elements it made and from where.
 * An appending target (`telecom[]`, `diagnosis[].condition`) is measured before and after, so
 * each appended item is named by its index; a list set whole (`name` ← `PID-5[*]`) by its items.
 * Items pair with the HL7 repetitions they came from when the counts agree, else all name the field.
 */
export function traceElement(
  trace: ElementOrigin[],
  entry: number,
  e: TracedElement,
  scope: Scope,
  run: Run,
  resource: Record<string, unknown>,
  value: unknown,
): void {
  const append = appendParts(e.target);
  if (value === undefined) {
    if (e.source && !append)
      trace.push({ entry, element: e.target, ...e.source.expected(scope, run), set: false });
    return;
  }
  const before = append ? lengthAt(resource, append.head) : 0;
  e.set(resource, value);
  if (!e.source) return;
  let elements: string[];
  if (append) {
    elements = [];
    for (let k = before; k < lengthAt(resource, append.head); k++)
      elements.push(`${append.head}[${k}]${append.tail ? `.${append.tail}` : ''}`);
  } else if (Array.isArray(value)) elements = value.map((_, k) => `${e.target}[${k}]`);
  else elements = [e.target];
  const sources = e.source.found(scope, run);
  if (sources.length === 0) return;
  const paired = sources.length === elements.length;
  elements.forEach((element, k) => {
    const s = paired ? sources[k]! : fieldOf(sources[0]!);
    trace.push({ entry, element, ...s, set: true });
  });
}

/** The whole field of a source (its repetition unknown when items and repetitions do not pair). */
export function fieldOf(s: Source): Source {
  if (!s.hl7) return s;
  const { segment, sequence, field } = s.hl7;
  const hl7 = { segment, sequence, ...(field !== undefined ? { field } : {}) };
  return { source: hl7PathOf(hl7), hl7 };
}

/**
 * A place in the message in the mapping files' path syntax, counted in the whole message:
 * `PID-5`, `PID-5[2]`, `OBX[5]-3`, `PID-6.1` (the first occurrence or repetition is left unsaid).
 */
export function hl7PathOf(at: Hl7Location): string {
  let path = at.sequence > 1 ? `${at.segment}[${at.sequence}]` : at.segment;
  if (at.field === undefined) return path;
  path += `-${at.field}`;
  if (at.repetition !== undefined && at.repetition > 1) path += `[${at.repetition}]`;
  if (at.component !== undefined) path += `.${at.component}`;
  if (at.subComponent !== undefined) path += `.${at.subComponent}`;
  return path;
}

/** `identifier[]` → head `identifier`; `diagnosis[].condition` → head `diagnosis`, tail `condition`. */
function appendParts(target: string): { head: string; tail?: string } | undefined {
  const mid = target.indexOf('[].');
  if (mid >= 0) return { head: target.slice(0, mid), tail: target.slice(mid + 3) };
  return target.endsWith('[]') ? { head: target.slice(0, -2) } : undefined;
}

/** The length of the array at a dotted path (`component[1].interpretation`), 0 when absent. */
function lengthAt(resource: Record<string, unknown>, path: string): number {
  let node: unknown = resource;
  for (const part of path.split('.')) {
    const m = /^([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\])?$/.exec(part);
    if (!m || node === null || typeof node !== 'object') return 0;
    node = (node as Record<string, unknown>)[m[1]!];
    if (m[2] !== undefined) node = Array.isArray(node) ? node[Number(m[2])] : undefined;
  }
  return Array.isArray(node) ? node.length : 0;
}
