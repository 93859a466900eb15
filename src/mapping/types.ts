import type { Bundle, OperationOutcomeIssue } from 'fhir/r4';
import type { Institution } from '../institutions/types.ts';

/** What every mapper is given besides the parsed input. */
export interface MappingContext {
  institution: Institution;
  /** `https://county-hie.org/fhir` (HIE_CANONICAL_BASE). */
  canonicalBase: string;
  /** The archive id: `meta.source = {base}/institution/{institution}#{archiveId}`. */
  archiveId: string;
  /**
   * When given, the run records here where each element it sets was read from, so that a problem
   * the validator finds in the mapped FHIR can be named where the sender can fix it (a run for
   * that only: the usual run does not pay for it).
   */
  trace?: ElementOrigin[];
}

/** One mapped element and the place in the input it was read from. */
export interface ElementOrigin {
  /** Index of the resource in the mapped Bundle's entries. */
  entry: number;
  /** The element in that resource: `name`, `telecom[1]`, `code`, `extension[0].valueString`. */
  element: string;
  /** The place as problems word it: `PID-5`, `OBX[5]-3` (counted in the message), `line 3, column "出生日期"`, `/visits/0/birth`. */
  source: string;
  /** HL7 input: the exact field (repetition, component) for ERR-2. */
  hl7?: Hl7Location;
  /** False: the element was left empty (a required one missing is still named by its path). */
  set: boolean;
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
  /** The OperationOutcome issue code, when more precise than `invalid` (a validator's `required`…). */
  code?: OperationOutcomeIssue['code'];
  /** HL7 position, when the input is HL7 v2. */
  hl7?: Hl7Location & { code: Hl7ErrorCode };
  /** FHIRPath-like or `row 3, column "birth"` for FHIR / CSV / JSON input. */
  expression?: string;
  /**
   * A problem found in the mapped FHIR and placed in the input (`expression` is then the input's
   * place): the FHIR element it concerns, `Bundle.entry[0].resource.name[0].family`.
   */
  fhirPath?: string;
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
