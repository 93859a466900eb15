import type { BundleEntryRequest, Coding, Encounter } from 'fhir/r4';
import type { Hl7Segment } from '../../parse/hl7v2/index.ts';
import { MapState } from './state.ts';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** PV1-2 (table 0004) → Encounter.class (v3 ActEncounterCode). */
const CLASS: Record<string, Coding> = {
  I: { system: ACT_CODE, code: 'IMP', display: 'inpatient encounter' },
  O: { system: ACT_CODE, code: 'AMB', display: 'ambulatory' },
  E: { system: ACT_CODE, code: 'EMER', display: 'emergency' },
  P: { system: ACT_CODE, code: 'PRENC', display: 'pre-admission' },
  R: { system: ACT_CODE, code: 'AMB', display: 'ambulatory' },
  B: { system: ACT_CODE, code: 'AMB', display: 'ambulatory' },
  H: { system: ACT_CODE, code: 'HH', display: 'home health' },
};

/** Trigger → status. A11 (cancel admit) voids the visit; A13 (cancel discharge) reopens it. */
function status(trigger: string, pv1: Hl7Segment, hasEnd: boolean): Encounter['status'] {
  switch (trigger) {
    case 'A03':
      return 'finished';
    case 'A05':
    case 'A14':
      return 'planned';
    case 'A11':
      return 'entered-in-error';
    case 'A13':
      return 'in-progress';
    default:
      return hasEnd || pv1.get(41) === 'D' ? 'finished' : 'in-progress';
  }
}

export interface MappedEncounter {
  fullUrl: string;
  resource: Encounter;
  request: BundleEntryRequest;
}

/**
 * An Encounter only when PV1-19 (visit number) or PV1-44 (admit time) is present: without
 * either the message is a registration and writes the Patient only (CONTRACTS.md).
 * `period.start`: PV1-44, else EVN-6, else EVN-2.
 */
export function mapEncounter(
  pv1: Hl7Segment | undefined,
  evn: Hl7Segment | undefined,
  patientUrl: string,
  trigger: string,
  st: MapState,
): MappedEncounter | undefined {
  if (!pv1 || (!pv1.has(19) && !pv1.has(44))) return undefined;
  const visit = pv1.get(19);
  const start = st.time(pv1, 44) ?? st.time(evn, 6) ?? st.time(evn, 2);
  const end = trigger === 'A13' ? undefined : st.time(pv1, 45);
  const classCode = pv1.get(2);
  let cls = CLASS[classCode.toUpperCase()];
  if (!cls) {
    cls = classCode
      ? { system: st.localCodeSystem('pv1-2'), code: classCode }
      : { system: 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor', code: 'UNK' };
    st.warn(
      `PV1-2 "${classCode}" is not a table 0004 class the built-in mapping knows`,
      pv1.at(2),
      'code-invalid',
    );
  }
  const enc: Encounter = {
    resourceType: 'Encounter',
    ...(visit ? { identifier: [{ use: 'official', system: st.visitSystem, value: visit }] } : {}),
    status: status(trigger, pv1, end !== undefined),
    class: cls,
    subject: { reference: patientUrl },
    serviceProvider: { reference: st.organizationRef },
  };
  if (start || end)
    enc.period = { ...(start ? { start: start.dateTime } : {}), ...(end ? { end: end.dateTime } : {}) };
  if (!visit) {
    st.warn(
      'PV1-19 (visit number) is empty: the Encounter has no key and is created anew on re-send',
      pv1.at(19),
    );
  }
  return {
    fullUrl: st.fullUrl(`Encounter|${visit || start?.dateTime || ''}`),
    resource: enc,
    request: visit
      ? MapState.putBy('Encounter', st.visitSystem, visit)
      : { method: 'POST', url: 'Encounter' },
  };
}
