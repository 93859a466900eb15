/**
 * The shapes the demo county's parts hand each other: the population (the truth about each
 * resident), what one institution has on file for a resident (a registration, with the tier's
 * data-quality errors applied), and the generated directory that `hie demo send` replays.
 */

export type Sex = 'male' | 'female';

/** Chronic conditions the care generator follows up (prevalence by age in the population). */
export type ChronicCondition = 'hypertension' | 'diabetes' | 'copd' | 'coronary-heart-disease';

/** The truth about one resident. Never sent anywhere as is: institutions send registrations. */
export interface Resident {
  /** Ground-truth person key, stable for a seed: `P` + 7 digits. */
  personId: string;
  householdId: string;
  /** The full name in Chinese characters, as on the ID card. */
  name: string;
  /** The surname (may be compound: 欧阳, 司马) and given name, for analysis only. */
  surname: string;
  given: string;
  sex: Sex;
  /** `YYYY-MM-DD`. */
  birthDate: string;
  /** A valid 18-digit ID whose birth date and sex digits agree with the above. */
  nationalId: string;
  /** The phone registered for the resident: their own mobile, or a guardian's. */
  phone: string;
  phoneOwner: 'self' | 'guardian' | 'household';
  /** The household member whose phone a child or elder is registered under. */
  guardianPersonId?: string;
  /** Medical insurance number (`{base}/sid/insurance`), when insured. */
  insuranceNumber?: string;
  address: {
    /** Six-digit division code of the county. */
    divisionCode: string;
    /** A `Township.id` and `Village.id` from county.ts. */
    townshipId: string;
    villageId: string;
    /** Full address text, e.g. 浙江省青山县桥头镇东村12号. */
    text: string;
  };
  chronic: ChronicCondition[];
  /** `YYYY-MM-DD`, when the resident died before the as-of date (kept for realism: rare). */
  deceasedDate?: string;
}

/** What one institution has on file for a resident, after that tier's data-quality errors. */
export interface Registration {
  personId: string;
  institutionId: string;
  /** The institution's own patient number (its MRN). */
  mrn: string;
  name: string;
  sex?: Sex;
  birthDate?: string;
  nationalId?: string;
  phone?: string;
  addressText?: string;
  insuranceNumber?: string;
  /** The error kinds applied, by their ids in the error-model file (empty: a clean copy). */
  errors: string[];
}

/**
 * How one generated file reaches the gateway, and how its bytes hold several messages:
 * - `hl7v2-mllp` / `hl7v2-http`: ER7 messages, segments ended by `\r`, each message followed by
 *   `\n` (so a file splits on `\n`); MLLP frames one message each, HTTP may post several.
 * - `csv:{feed}`: one CSV file with its header row; each row is its own message.
 * - `json:{feed}` and `fhir`: NDJSON, one message (a JSON object / a FHIR Bundle) per line.
 */
export type DemoChannel = 'hl7v2-mllp' | 'hl7v2-http' | `csv:${string}` | `json:${string}` | 'fhir';

export interface DemoFile {
  /** Path relative to the generated directory, `/`-separated. */
  path: string;
  institution: string;
  channel: DemoChannel;
  /** Messages in the file (HL7 v2 messages, CSV rows, JSON objects, FHIR Bundles). */
  messages: number;
  /** Character set of the file's bytes (`UTF-8` or `GB18030`), as sent in the content type. */
  charset: string;
}

/** A deliberately bad message and why it must fail. */
export interface ExpectedFailure {
  path: string;
  /** 0-based position of the message within its file. */
  index: number;
  controlId: string;
  reason: string;
  /** What the gateway must answer: an HL7 ACK code, or an HTTP status for the other channels. */
  expect: 'AE' | 'AR' | '422';
}

/**
 * `manifest.json` at the top of a generated directory. Files are sent phase by phase (all files
 * of phase 1 before any of phase 2: registrations before the care that refers to them); within
 * a phase, files in the listed order, one institution's files never concurrently.
 */
export interface DemoManifest {
  format: 'county-hie-demo/1';
  seed: string;
  asOf: string;
  residents: number;
  errorModel: string;
  phases: { name: string; files: DemoFile[] }[];
  expectedFailures: ExpectedFailure[];
  /** Counts for a first look: messages by channel, and resources the load should produce. */
  totals: { messages: number; expectedFailures: number };
}

/**
 * Care over time, as the care generator plans it: one event at one institution, rendered by that
 * institution's writer in its own format (county hospital HL7 v2 over MLLP, its LIS and the
 * shared centres HL7 v2 over HTTP, township HIS JSON, village clinic CSV, FHIR from the community
 * health centres, the maternal and child health hospital and the county's referral platform).
 * Times are ISO 8601 with the institution's offset (`2026-03-04T09:20:00+08:00`).
 */
export interface CareEventBase {
  /** Unique within a generated county, stable for a seed: the source's own record number. */
  id: string;
  personId: string;
  institutionId: string;
  time: string;
  /** The directory practitioner (registry/practitioners.json id) responsible, when known. */
  practitionerId?: string;
}

export interface CodedItem {
  system: 'icd-10' | 'loinc' | 'local' | 'drug-cn' | 'snomed' | 'cvx';
  code: string;
  /** Display in Chinese (the sources' language). */
  name: string;
}

export interface VitalSign {
  kind: 'systolic' | 'diastolic' | 'fasting-glucose' | 'weight' | 'height' | 'heart-rate' | 'temperature';
  value: number;
  unit: string;
}

export interface Prescription {
  drug: CodedItem;
  dose: number;
  doseUnit: string;
  /** e.g. `qd`, `bid`, `tid`. */
  frequency: string;
  days: number;
}

export interface VisitEvent extends CareEventBase {
  kind: 'visit';
  setting: 'outpatient' | 'inpatient' | 'emergency';
  end?: string;
  department?: string;
  diagnoses: CodedItem[];
  vitals: VitalSign[];
  prescriptions: Prescription[];
}

export interface LabResult {
  item: CodedItem;
  value: number | string;
  unit?: string;
  low?: number;
  high?: number;
  /** HL7 table 0078: `H`, `L`, `N`. */
  flag?: 'H' | 'L' | 'N';
}

export interface LabReportEvent extends CareEventBase {
  kind: 'lab-report';
  /** The institution whose clinician ordered it (a township health centre sends specimens to the shared lab). */
  orderedBy: string;
  panel: CodedItem;
  specimenTime: string;
  results: LabResult[];
}

export interface ReadReportEvent extends CareEventBase {
  kind: 'ecg-report' | 'imaging-report' | 'pathology-report';
  orderedBy: string;
  procedure: CodedItem;
  findings: string;
  conclusion: string;
}

export interface ReferralEvent extends CareEventBase {
  kind: 'referral';
  /** Up: village → township → county; down: county → township/community for rehabilitation. */
  direction: 'up' | 'down';
  /** The receiving institution (institutionId is the referring one). */
  to: string;
  reason: CodedItem;
  status: 'active' | 'completed';
  note: string;
}

export interface ImmunizationEvent extends CareEventBase {
  kind: 'immunization';
  vaccine: CodedItem;
  doseNumber: number;
  lotNumber: string;
}

export interface ContractEvent extends CareEventBase {
  kind: 'contract';
  /** The family doctor's staff number (工号) in the directory, and the team. */
  doctorStaffNo: string;
  teamNo: string;
  start: string;
  end: string;
  status: 'active' | 'finished';
  servicePackage: string;
}

export type CareEvent =
  VisitEvent | LabReportEvent | ReadReportEvent | ReferralEvent | ImmunizationEvent | ContractEvent;

/** One file a writer produced, before the orchestrator lists it in the manifest. */
export interface RenderedFile extends DemoFile {
  bytes: Buffer;
  /** Control ids of the file's messages, in order (for progress and ground truth). */
  controlIds: string[];
}

/** A writer renders one institution's events (in time order) with its registrations. */
export type InstitutionWriter = (input: {
  institutionId: string;
  events: readonly CareEvent[];
  /** The institution's registration of each person it has events for. */
  registrations: ReadonlyMap<string, Registration>;
  /** Output folder prefix for the file paths, e.g. `messages/2-care`. */
  folder: string;
}) => RenderedFile[];
