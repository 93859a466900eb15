import type { Hl7Repetition, Hl7Segment, ParsedHl7 } from '../../parse/hl7v2/index.ts';
import type { Hl7Location } from '../types.ts';

/**
 * Segment groups and HL7 paths for mapping files. A group is a run of consecutive segments opened
 * by a start segment (an ORC with its TQ1/OBR/RXA/OBX/NTE…) and closed by the next segment of the
 * same name; groups nest (`ORC/OBX`: each OBX with its NTEs inside its order). A path is read in
 * the innermost group holding that segment name, then outwards (see `split`), so `OBR-4` inside
 * an OBX's group is its own order's OBR and `PID-3` is the message's patient.
 */
export interface Hl7Group {
  readonly segments: readonly Hl7Segment[];
  readonly parent?: Hl7Group;
  /** `ORC[2]` (the start segment's occurrence in the message); '' for the whole message. */
  readonly label: string;
}

export function messageGroup(msg: ParsedHl7): Hl7Group {
  return { segments: msg.segments, label: '' };
}

/** One level of a group path: the start segment, and the optional segment that may lead it. */
const LEVEL = /^(?:\[([A-Z][A-Z0-9]{2})\])?([A-Z][A-Z0-9]{2})$/;

/**
 * `ORC` / `ORC/OBX` / `[ORC]RXA` → the groups of that shape in a message (compiled once per
 * mapping). `[ORC]RXA` is HL7's own notation for an optional segment that leads a group: each
 * RXA opens a group unless an ORC opened it just before (VXU's ORDER group is
 * `[ORC] RXA [RXR] {[OBX]}`: many senders leave the ORC out, others send it). A group is
 * labelled by the segment that opened it (`ORC[2]`, `RXA[3]`).
 */
export function compileGroupPath(path: string): (root: Hl7Group) => Hl7Group[] {
  const levels = path.split('/').map((n) => {
    const m = LEVEL.exec(n);
    if (!m) throw new Error(`"${path}" is not a segment group (e.g. ORC, ORC/OBX, [ORC]RXA)`);
    return { start: m[2]!, ...(m[1] ? { lead: m[1] } : {}) };
  });
  return (root) =>
    levels.reduce<Hl7Group[]>(
      (groups, level) => groups.flatMap((g) => split(g, level.start, level.lead)),
      [root],
    );
}

/**
 * Outside its own group, a path sees only what precedes the first group of its kind (the header:
 * MSH, PID, PV1…), never a sibling group: an order without NTE has no note, not the next order's.
 */
function split(parent: Hl7Group, name: string, lead?: string): Hl7Group[] {
  const out: Hl7Group[] = [];
  const segs = parent.segments;
  const first = segs.findIndex((s) => s.name === name || s.name === lead);
  if (first < 0) return out;
  const head: Hl7Group = {
    segments: segs.slice(0, first),
    ...(parent.parent ? { parent: parent.parent } : {}),
    label: parent.label,
  };
  let current: Hl7Segment[] | undefined;
  const close = () => {
    if (current)
      out.push({ segments: current, parent: head, label: `${current[0]!.name}[${current[0]!.sequence}]` });
  };
  for (const s of segs) {
    // A lead segment always opens a group (one followed by no start segment is a group without
    // it, which the mapping's required elements then refuse); the start segment joins the group
    // its lead opened, else opens its own.
    const joinsLead =
      s.name === name &&
      current !== undefined &&
      current[0]!.name === lead &&
      !current.some((x) => x.name === name);
    if (s.name === lead || (s.name === name && !joinsLead)) {
      close();
      current = [s];
    } else if (current) current.push(s);
  }
  close();
  return out;
}

/** One value an HL7 path points at: a field repetition, or a component / sub-component of it. */
export class Hl7Value {
  constructor(
    readonly segment: Hl7Segment,
    readonly field: number,
    readonly repetition: Hl7Repetition,
    /** 1-based. */
    readonly repetitionIndex: number,
    readonly component?: number,
    readonly subComponent?: number,
  ) {}

  /** The text: the component asked for, else component 1 (a primitive field's value). */
  get text(): string {
    return this.repetition.get(this.component ?? 1, this.subComponent ?? 1);
  }

  /** A whole field repetition (for CX, XPN, CWE… conversions) rather than one component. */
  get whole(): boolean {
    return this.component === undefined;
  }

  get at(): Hl7Location {
    return this.segment.at(this.field, this.repetitionIndex, this.component, this.subComponent);
  }

  toString(): string {
    return this.text;
  }
}

/** A compiled path: undefined when absent, one value, or a list (`[*]`, `OBX[*]`, `OBX[2=ED]`). */
export type Hl7Reader = (group: Hl7Group) => Hl7Value | Hl7Value[] | undefined;

/**
 * `SEG[occurrence]-field[rep].component.sub`. The occurrence may be `*` (every segment of that
 * name in the group) or `f=VALUE` (every one whose field f is VALUE: `OBX[2=ED]`); `[*]` on the
 * field reads every repetition.
 */
const PATH =
  /^([A-Z][A-Z0-9]{2})(?:\[([1-9]\d*|\*|[1-9]\d*=[^\]]*)\])?-([1-9]\d*)(?:\[([1-9]\d*|\*)\])?(?:\.([1-9]\d*)(?:\.([1-9]\d*))?)?$/;

export function compileHl7Path(path: string): Hl7Reader {
  const m = PATH.exec(path.trim());
  if (!m)
    throw new Error(
      `"${path}" is not an HL7 path (SEG[occurrence]-field[repetition].component.subcomponent, e.g. PID-3, OBX[2]-5.1, PID-5[*], OBX[2=ED]-5)`,
    );
  const [, name, occ, fieldText, rep, comp, sub] = m;
  const field = Number(fieldText);
  const component = comp ? Number(comp) : undefined;
  const subComponent = sub ? Number(sub) : undefined;
  const present = (v: Hl7Value) =>
    component !== undefined ? v.text !== '' : v.repetition.raw !== '' && v.repetition.raw !== '""';
  const valuesOf = (seg: Hl7Segment): Hl7Value | Hl7Value[] | undefined => {
    const reps = seg.repetitions(field);
    if (rep === '*') {
      const all: Hl7Value[] = [];
      for (let i = 0; i < reps.length; i++) {
        const v = new Hl7Value(seg, field, reps[i]!, i + 1, component, subComponent);
        if (present(v)) all.push(v);
      }
      return all.length ? all : undefined;
    }
    const i = rep ? Number(rep) - 1 : 0;
    const r = reps[i];
    if (!r) return undefined;
    const v = new Hl7Value(seg, field, r, i + 1, component, subComponent);
    return present(v) ? v : undefined;
  };
  if (occ === '*' || occ?.includes('=')) {
    const [f, wanted] =
      occ === '*' ? [] : [Number(occ.slice(0, occ.indexOf('='))), occ.slice(occ.indexOf('=') + 1)];
    return (group) => {
      const out = segmentsOf(group, name!)
        .filter((seg) => f === undefined || seg.get(f) === wanted)
        .flatMap((seg) => valuesOf(seg) ?? []);
      return out.length ? out : undefined;
    };
  }
  const occurrence = occ ? Number(occ) : 1;
  return (group) => {
    const seg = segmentsOf(group, name!)[occurrence - 1];
    return seg ? valuesOf(seg) : undefined;
  };
}

/**
 * The segments of that name in the innermost group that has any, else outwards. A mapping reads
 * many paths in each group, so each group indexes its segments by name once, when first asked.
 */
function segmentsOf(group: Hl7Group, name: string): readonly Hl7Segment[] {
  for (let g: Hl7Group | undefined = group; g; g = g.parent) {
    const named = indexOf(g).get(name);
    if (named) return named;
  }
  return [];
}

const byName = new WeakMap<Hl7Group, Map<string, Hl7Segment[]>>();
function indexOf(group: Hl7Group): Map<string, Hl7Segment[]> {
  let index = byName.get(group);
  if (!index) {
    index = new Map();
    for (const s of group.segments) {
      const list = index.get(s.name);
      if (list) list.push(s);
      else index.set(s.name, [s]);
    }
    byName.set(group, index);
  }
  return index;
}

/** The texts at a path, as FHIRPath sees them (an absent value is the empty collection). */
export function textsAt(read: Hl7Reader, group: Hl7Group): string[] {
  const v = read(group);
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => x.text).filter((t) => t !== '');
}

/**
 * Where a path's value would be in this group (`OBX-3` in an OBX's group → that OBX's field 3), for
 * an ERR segment naming a missing required field; undefined when the path names no segment.
 */
export function locateHl7(group: Hl7Group, path: string): Hl7Location | undefined {
  const m = PATH.exec(path.trim());
  if (!m) return undefined;
  const [, name, occ, field] = m;
  const occurrence = occ && /^\d+$/.test(occ) ? Number(occ) : 1;
  const seg = segmentsOf(group, name!)[occurrence - 1];
  // No such segment at all: the location names the segment only (an ERR for a missing segment).
  return seg ? seg.at(Number(field)) : { segment: name!, sequence: occurrence };
}
