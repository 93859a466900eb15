import { createHash } from 'node:crypto';
import type { BundleEntry, BundleEntryRequest, DomainResource, OperationOutcomeIssue } from 'fhir/r4';
import type { Hl7Segment } from '../../parse/hl7v2/index.ts';
import type { Hl7Location, MappingContext } from '../types.ts';
import { MappingError, type Hl7ErrorCode } from '../types.ts';
import { parseHl7Time, type Hl7Time } from './time.ts';

/**
 * What one mapping run accumulates: the entries, the warnings, and the stamping every resource
 * gets (meta.source, the mapping tag, the source-event-time extension).
 */
export class MapState {
  readonly base: string;
  readonly inst: string;
  readonly tz: string;
  readonly entries: BundleEntry[] = [];
  readonly issues: OperationOutcomeIssue[] = [];
  eventTime?: string;

  constructor(
    readonly ctx: MappingContext,
    readonly mappingId: 'adt' | 'oru',
  ) {
    this.base = ctx.canonicalBase.replace(/\/+$/, '');
    this.inst = ctx.institution.id;
    this.tz = ctx.institution.timezone || '+08:00';
  }

  get mrnSystem(): string {
    return `${this.base}/sid/mrn/${this.inst}`;
  }
  get visitSystem(): string {
    return `${this.base}/sid/visit/${this.inst}`;
  }
  get sourceIdSystem(): string {
    return `${this.base}/sid/source-id/${this.inst}`;
  }
  get organizationRef(): string {
    return `Organization/${this.inst}`;
  }

  localCodeSystem(table: string): string {
    return `${this.base}/CodeSystem/local/${this.inst}/${table}`;
  }

  /**
   * A fullUrl stable for one archived message and one key, so that a replay of the same
   * archive row produces the same Bundle (golden tests, diffing) without a random source.
   */
  fullUrl(key: string): string {
    const h = createHash('sha256')
      .update(`${this.inst}\u0000${this.ctx.archiveId}\u0000${key}`)
      .digest('hex');
    return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** Adds meta.source, the mapping tag and source-event-time, then the entry. */
  add(fullUrl: string, resource: DomainResource, request: BundleEntryRequest): void {
    resource.meta = {
      source: `${this.base}/institution/${this.inst}#${this.ctx.archiveId}`,
      tag: [{ system: `${this.base}/CodeSystem/mapping`, code: `hl7v2-builtin-${this.mappingId}@1` }],
    };
    if (this.eventTime) {
      resource.extension = [
        ...(resource.extension ?? []),
        { url: `${this.base}/StructureDefinition/source-event-time`, valueDateTime: this.eventTime },
      ];
    }
    this.entries.push({ fullUrl, resource, request });
  }

  /** `PUT Type?identifier=system|value` keyed by an institution-scoped identifier. */
  static putBy(type: string, system: string, value: string): BundleEntryRequest {
    return {
      method: 'PUT',
      url: `${type}?identifier=${encodeURIComponent(system)}|${encodeURIComponent(value)}`,
    };
  }

  warn(text: string, at: Hl7Location, code: OperationOutcomeIssue['code'] = 'informational'): void {
    this.issues.push({ severity: 'warning', code, diagnostics: text, expression: [hl7Path(at)] });
  }

  /** A TS field as FHIR time, or undefined when empty; an invalid value is a 102 error. */
  time(seg: Hl7Segment | undefined, field: number, component = 1): Hl7Time | undefined {
    const v = seg?.get(field, component);
    if (!seg || !v) return undefined;
    return parseHl7Time(v, this.tz, seg.at(field, undefined, component === 1 ? undefined : component));
  }
}

/** `PID[1]-7` / `OBX[3]-5[2].1`: the HL7 path shape the mapping issue uses in expressions. */
export function hl7Path(at: Hl7Location): string {
  let p = `${at.segment}[${at.sequence}]`;
  if (at.field !== undefined) p += `-${at.field}`;
  if (at.repetition !== undefined) p += `[${at.repetition}]`;
  if (at.component !== undefined) p += `.${at.component}`;
  if (at.subComponent !== undefined) p += `.${at.subComponent}`;
  return p;
}

export function fail(
  text: string,
  at: Hl7Location,
  code: Hl7ErrorCode,
  kind: 'error' | 'reject' = 'error',
): MappingError {
  return new MappingError([{ severity: 'error', text, hl7: { ...at, code } }], kind);
}
