import type { Condition, Reference } from 'fhir/r4';
import type { Hl7Segment } from '../../parse/hl7v2/index.ts';
import { codeable, knownOr } from './datatypes.ts';
import { MapState } from './state.ts';

const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const VERIFICATION = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';

/** DG1-6 (table 0052): admitting and working diagnoses are provisional, a final one confirmed. */
const VERIFIED: Record<string, string> = { A: 'provisional', W: 'provisional', F: 'confirmed' };

export interface MappedCondition {
  fullUrl: string;
  resource: Condition;
  id: string;
}

/**
 * DG1 → Condition (category `encounter-diagnosis`), keyed in the source-id system by the visit
 * and DG1-1 — `{visit}-DG1-{n}` — so the final diagnosis of an A03 updates the admitting one of
 * the A01. Without a visit number the key is the MRN and the code, so a re-send updates too.
 */
export function mapDiagnosis(
  dg1: Hl7Segment,
  subject: Reference,
  encounter: Reference | undefined,
  keys: { visit?: string; mrn: string },
  st: MapState,
): MappedCondition | undefined {
  const code = codeable(
    dg1.repetitions(3)[0],
    knownOr(() => st.localCodeSystem('dg1-3')),
  );
  if (!code) {
    // Old senders put the text in DG1-4 only; a diagnosis without a code is not a Condition
    // we can key or code, but the rest of the message stands.
    st.warn('DG1-3 (diagnosis code) is empty: the diagnosis is not mapped', dg1.at(3));
    return undefined;
  }
  const setId = dg1.get(1) || String(dg1.sequence);
  const id = keys.visit ? `${keys.visit}-DG1-${setId}` : `${keys.mrn}-DG1-${dg1.get(3, 1)}`;
  const typeCode = dg1.get(6).toUpperCase();
  const verification = VERIFIED[typeCode];
  if (typeCode && !verification)
    st.warn(`DG1-6 "${dg1.get(6)}" is not a table 0052 code`, dg1.at(6), 'code-invalid');
  const condition: Condition = {
    resourceType: 'Condition',
    identifier: [{ system: st.sourceIdSystem, value: id }],
    clinicalStatus: { coding: [{ system: CLINICAL, code: 'active' }] },
    ...(verification
      ? { verificationStatus: { coding: [{ system: VERIFICATION, code: verification }] } }
      : {}),
    category: [{ coding: [{ system: CATEGORY, code: 'encounter-diagnosis' }] }],
    code,
    subject,
    ...(encounter ? { encounter } : {}),
  };
  const recorded = st.time(dg1, 5);
  if (recorded) condition.recordedDate = recorded.dateTime;
  return { fullUrl: st.fullUrl(`Condition|${id}`), resource: condition, id };
}

/** Adds each coded DG1 of the message as a Condition; returns them for Encounter.diagnosis. */
export function mapDiagnoses(
  segments: Hl7Segment[],
  subject: Reference,
  encounter: Reference | undefined,
  keys: { visit?: string; mrn: string },
  st: MapState,
): MappedCondition[] {
  const out: MappedCondition[] = [];
  for (const dg1 of segments) {
    const c = mapDiagnosis(dg1, subject, encounter, keys, st);
    if (!c) continue;
    st.add(c.fullUrl, c.resource, MapState.putBy('Condition', st.sourceIdSystem, c.id));
    out.push(c);
  }
  return out;
}
