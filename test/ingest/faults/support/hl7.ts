/** HL7 v2 for the fault tests: one ADT^A01 per patient, and what an ACK says. */

export const BASE = 'https://county-hie.org/fhir';
export const CPH = 'county-peoples-hospital';
export const CGCHC = 'chengguan-community-health-centre';
export const MRN_SYSTEM = `${BASE}/sid/mrn/${CPH}`;
export const VISIT_SYSTEM = `${BASE}/sid/visit/${CPH}`;
export const SOURCE_ID_SYSTEM = `${BASE}/sid/source-id/${CGCHC}`;

/**
 * An admission at the county people's hospital (MSH-4 `CPH`), v2.5.1: the control id is also the
 * MRN and, prefixed with `V`, the visit number (PV1-19), so one message = one Patient + one Encounter.
 */
export function adtA01(key: string): Buffer {
  return Buffer.from(
    [
      `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A01^ADT_A01|${key}|P|2.5.1|||||CHN|UNICODE UTF-8`,
      'EVN|A01|20261101082500',
      `PID|1||${key}^^^CPH^MR||王^秀英||19561231|F`,
      `PV1|1|I|NEURO^201^1||||||||||||||||V${key}|||||||||||||||||||||||||20261101080000`,
    ].join('\r') + '\r',
    'utf8',
  );
}

export interface Ack {
  /** MSA-1: AA, AE, AR (or CA/CE/CR). */
  code: string;
  /** MSA-2: the acknowledged message's control id. */
  controlId: string;
  /** ERR-3.1 of every ERR segment (table 0357 codes, v2.5+). */
  errorCodes: string[];
}

/** Reads one ACK (segments separated by CR); undefined when the text is not an ACK at all. */
export function readAck(text: string): Ack | undefined {
  const segments = text.split(/\r\n|\r|\n/).filter((s) => s.length > 0);
  const msh = segments[0];
  if (!msh?.startsWith('MSH')) return undefined;
  const field = msh[3] ?? '|';
  const component = msh[4] ?? '^';
  const msa = segments.find((s) => s.startsWith(`MSA${field}`))?.split(field);
  if (!msa) return undefined;
  const errorCodes = segments
    .filter((s) => s.startsWith(`ERR${field}`))
    .map((s) => (s.split(field)[3] ?? '').split(component)[0] ?? '');
  return { code: msa[1] ?? '', controlId: msa[2] ?? '', errorCodes };
}
