import { MappingError, type Hl7ErrorCode, type Hl7Location } from '../../mapping/types.ts';
import { unescapeHl7, type Hl7Delimiters } from './escape.ts';

/**
 * The ER7 structure of one HL7 v2 message. Written here rather than taken from
 * @medplum/core `Hl7Message` (dependency-trials.md §5), which we tried first: it keeps
 * sub-components as unsplit `a&b` text, does not decode escapes, accepts a broken MSH-2
 * (`^~\\&` silently makes `\` the sub-component separator), splits segments on CR only and
 * reports no positions — and every error here must name segment, field and position for
 * ERR-2. Splitting is lazy (fields eagerly, repetitions/components on access) to stay cheap.
 */
export class Hl7Repetition {
  private comps?: string[][];
  constructor(
    readonly raw: string,
    private readonly d: Hl7Delimiters,
  ) {}

  /** Un-escaped text of a component (1-based) and sub-component; '' when absent or `""`. */
  get(component = 1, subComponent = 1): string {
    const comps = (this.comps ??= this.raw.split(this.d.component).map((c) => c.split(this.d.subComponent)));
    const leaf = comps[component - 1]?.[subComponent - 1];
    if (leaf === undefined || leaf === '""') return '';
    return unescapeHl7(leaf, this.d);
  }

  /** Number of components present. */
  get componentCount(): number {
    return this.raw === '' ? 0 : this.raw.split(this.d.component).length;
  }
}

export class Hl7Segment {
  constructor(
    readonly name: string,
    /** 1-based occurrence of this segment name in the message (ERR-2.2). */
    readonly sequence: number,
    /** 1-based position among all segments. */
    readonly position: number,
    /** Raw field texts indexed by field number; [0] is the name (MSH: [1] = MSH-1, [2] = MSH-2). */
    private readonly fields: string[],
    private readonly d: Hl7Delimiters,
  ) {}

  /** Repetitions by field number, split on first access. */
  private split?: (readonly Hl7Repetition[])[];

  get fieldCount(): number {
    return this.fields.length - 1;
  }

  /** The escaped ER7 text of a field, '' when absent. */
  raw(field: number): string {
    return this.fields[field] ?? '';
  }

  /** True when the field holds anything but HL7 null (`""`) or nothing. */
  has(field: number): boolean {
    const r = this.raw(field);
    return r !== '' && r !== '""';
  }

  /**
   * The field's repetitions; [] when the field is empty. MSH-1/MSH-2 are never split. Split once
   * per field and kept (a mapping reads the same field several times, and each repetition keeps
   * its own split components); the arrays are shared, so callers must not change them.
   */
  repetitions(field: number): readonly Hl7Repetition[] {
    const kept = (this.split ??= [])[field];
    if (kept) return kept;
    const r = this.raw(field);
    const reps =
      r === ''
        ? []
        : this.name === 'MSH' && field <= 2
          ? [new Hl7Repetition(r, { ...this.d, component: '\0', subComponent: '\0', escape: '' })]
          : r.split(this.d.repetition).map((x) => new Hl7Repetition(x, this.d));
    this.split[field] = reps;
    return reps;
  }

  /** Un-escaped text at field / component / sub-component / repetition (all 1-based). */
  get(field: number, component = 1, subComponent = 1, repetition = 1): string {
    return this.repetitions(field)[repetition - 1]?.get(component, subComponent) ?? '';
  }

  /** Where this segment (or a part of it) is, for MappingProblem / ERR-2. */
  at(field?: number, repetition?: number, component?: number, subComponent?: number): Hl7Location {
    return {
      segment: this.name,
      sequence: this.sequence,
      ...(field !== undefined ? { field } : {}),
      ...(repetition !== undefined ? { repetition } : {}),
      ...(component !== undefined ? { component } : {}),
      ...(subComponent !== undefined ? { subComponent } : {}),
    };
  }
}

/** Versions this exchange accepts (MSH-12.1). */
export const SUPPORTED_VERSIONS = [
  '2.3',
  '2.3.1',
  '2.4',
  '2.5',
  '2.5.1',
  '2.6',
  '2.7',
  '2.7.1',
  '2.8',
  '2.8.1',
  '2.8.2',
];

export class ParsedHl7 {
  readonly msh: Hl7Segment;
  private readonly byName = new Map<string, Hl7Segment[]>();

  constructor(
    /** The message text, CR-terminated segments. */
    readonly text: string,
    readonly delimiters: Hl7Delimiters,
    readonly segments: Hl7Segment[],
  ) {
    for (const s of segments) {
      const list = this.byName.get(s.name);
      if (list) list.push(s);
      else this.byName.set(s.name, [s]);
    }
    this.msh = segments[0]!;
  }

  /** The n-th (1-based) segment with this name. */
  segment(name: string, occurrence = 1): Hl7Segment | undefined {
    return this.byName.get(name)?.[occurrence - 1];
  }

  all(name: string): Hl7Segment[] {
    return this.byName.get(name) ?? [];
  }

  /** MSH-3.1 / MSH-4.1 / MSH-5.1 / MSH-6.1: HD namespace ids (the universal id when no namespace). */
  get sendingApplication(): string {
    return hd(this.msh, 3);
  }
  get sendingFacility(): string {
    return hd(this.msh, 4);
  }
  get receivingApplication(): string {
    return hd(this.msh, 5);
  }
  get receivingFacility(): string {
    return hd(this.msh, 6);
  }
  /** MSH-7.1, the raw HL7 timestamp. */
  get messageTime(): string {
    return this.msh.get(7);
  }
  /** `ADT^A01` (MSH-9.1 ^ MSH-9.2), without the structure. */
  get messageType(): string {
    const t = this.triggerEvent;
    return t ? `${this.messageCode}^${t}` : this.messageCode;
  }
  get messageCode(): string {
    return this.msh.get(9, 1);
  }
  get triggerEvent(): string {
    return this.msh.get(9, 2);
  }
  /** MSH-9.3 (`ADT_A01`), '' before v2.3.1 or when left out. */
  get messageStructure(): string {
    return this.msh.get(9, 3);
  }
  get controlId(): string {
    return this.msh.get(10);
  }
  get processingId(): string {
    return this.msh.get(11);
  }
  get version(): string {
    return this.msh.get(12);
  }
  /** MSH-18, first repetition ('' when not given). */
  get charset(): string {
    return this.msh.get(18);
  }
  /** MSH-15 / MSH-16 (enhanced acknowledgement mode). */
  get acceptAckType(): string {
    return this.msh.get(15);
  }
  get applicationAckType(): string {
    return this.msh.get(16);
  }
}

function hd(msh: Hl7Segment, field: number): string {
  return msh.get(field, 1) || msh.get(field, 2);
}

export function parseProblem(
  text: string,
  at: Hl7Location,
  code: Hl7ErrorCode,
  kind: 'error' | 'reject' = 'error',
): MappingError {
  return new MappingError([{ severity: 'error', text, hl7: { ...at, code } }], kind);
}
