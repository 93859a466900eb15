import type { Bundle, OperationOutcomeIssue } from 'fhir/r4';
import type { Institution } from '../institutions/types.ts';

/** What every mapper is given besides the parsed input. */
export interface MappingContext {
  institution: Institution;
  /** `https://county-hie.org/fhir` (HIE_CANONICAL_BASE). */
  canonicalBase: string;
  /** The archive id: `meta.source = {base}/institution/{institution}#{archiveId}`. */
  archiveId: string;
}

/**
 * A mapped message: a `transaction` Bundle whose entries upsert by institution-scoped keys
 * (`PUT Patient?identifier={base}/sid/mrn/{institution}|{mrn}`), reference each other by
 * `urn:uuid:` fullUrls, and carry `meta.source` and the source-event-time extension.
 */
export interface MappedMessage {
  /** `ADT^A01`, `ORU^R01` … */
  type: string;
  controlId: string;
  /** ISO dateTime with offset: the ordering key. */
  eventTime?: string;
  bundle: Bundle;
  /** Warnings (untranslated codes …); errors are thrown as MappingError. */
  issues: OperationOutcomeIssue[];
}

/** Where in an HL7 v2 message something is wrong (for ERR-2 and OperationOutcome expressions). */
export interface Hl7Location {
  segment: string;
  /** 1-based occurrence of the segment in the message. */
  sequence: number;
  field?: number;
  repetition?: number;
  component?: number;
  subComponent?: number;
}

/** HL7 table 0357 codes used in ERR-3. */
export type Hl7ErrorCode =
  '100' | '101' | '102' | '103' | '200' | '201' | '202' | '203' | '204' | '205' | '206' | '207';

export interface MappingProblem {
  severity: 'error' | 'warning';
  text: string;
  /** HL7 position, when the input is HL7 v2. */
  hl7?: Hl7Location & { code: Hl7ErrorCode };
  /** FHIRPath-like or `row 3, column "birth"` for FHIR / CSV / JSON input. */
  expression?: string;
}

/** A message that cannot be mapped: AE (content) or AR (unsupported type/version) for HL7. */
export class MappingError extends Error {
  constructor(
    readonly problems: MappingProblem[],
    /** `reject` = AR (unsupported message type or version), `error` = AE. */
    readonly kind: 'error' | 'reject' = 'error',
  ) {
    super(problems.map((p) => p.text).join('; '));
    this.name = 'MappingError';
  }
}
