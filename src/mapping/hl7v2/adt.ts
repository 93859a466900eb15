import type { Patient } from 'fhir/r4';
import type { Hl7Segment, ParsedHl7 } from '../../parse/hl7v2/index.ts';
import { mapDiagnoses } from './condition.ts';
import { mapEncounter } from './encounter.ts';
import { chooseIdentifiers, mapPatient, mrnIdentifier } from './patient.ts';
import { fail, MapState } from './state.ts';

export const ADT_TRIGGERS = ['A01', 'A02', 'A03', 'A04', 'A05', 'A08', 'A11', 'A13', 'A28', 'A31', 'A40'];

/** ADT: the Patient (keyed by MRN), for a visit its Encounter, DG1s as Conditions; A40 merges. */
export function mapAdt(msg: ParsedHl7, trigger: string, st: MapState): void {
  const pid = msg.segment('PID');
  if (!pid) throw fail(`ADT^${trigger} has no PID segment`, { segment: 'PID', sequence: 1 }, '100');
  if (trigger === 'A40') return mapMerge(msg, st);
  const patient = mapPatient(pid, st);
  st.add(patient.fullUrl, patient.resource, MapState.putBy('Patient', st.mrnSystem, patient.mrn));
  const pv1 = msg.segment('PV1');
  const enc = mapEncounter(pv1, msg.segment('EVN'), patient.fullUrl, trigger, st);
  if (enc) st.add(enc.fullUrl, enc.resource, enc.request);
  const dg1 = msg.all('DG1');
  if (!dg1.length) return;
  const visit = enc ? pv1?.get(19) : undefined;
  const conditions = mapDiagnoses(
    dg1,
    { reference: patient.fullUrl },
    enc ? { reference: enc.fullUrl } : undefined,
    { ...(visit ? { visit } : {}), mrn: patient.mrn },
    st,
  );
  // The Encounter entry is already in the Bundle; its diagnoses point at the Conditions.
  if (enc)
    enc.resource.diagnosis = conditions.map((c, i) => ({ condition: { reference: c.fullUrl }, rank: i + 1 }));
}

/**
 * A40 (merge patient, one or more PID/MRG pairs): the survivor from PID gets `replaces`, the
 * record named in MRG-1 gets `active=false` and `replaced-by`. The retired record is written by
 * a conditional PUT, which replaces it whole: it is given the survivor's demographics (the same
 * person, by the sender's own decision) and only its own MRN — not the national ID, so nothing
 * will link to the retired record. Re-pointing references comes with the identity issue.
 */
function mapMerge(msg: ParsedHl7, st: MapState): void {
  const pids = msg.all('PID');
  for (const [i, pid] of pids.entries()) {
    const next = pids[i + 1]?.position ?? Number.MAX_SAFE_INTEGER;
    const mrg = msg.segments.find((s) => s.name === 'MRG' && s.position > pid.position && s.position < next);
    if (!mrg)
      throw fail(
        'ADT^A40: the PID is not followed by an MRG segment',
        { segment: 'MRG', sequence: i + 1 },
        '100',
      );
    const prior = priorMrn(mrg);
    const survivor = mapPatient(pid, st);
    if (prior === survivor.mrn) throw fail('MRG-1 names the surviving record itself', mrg.at(1), '102');
    const mergedUrl = st.fullUrl(`Patient|${prior}`);
    const retired: Patient = {
      ...structuredClone(survivor.resource),
      identifier: [mrnIdentifier(st, prior)],
      active: false,
      link: [{ other: { reference: survivor.fullUrl }, type: 'replaced-by' }],
    };
    survivor.resource.active = true;
    survivor.resource.link = [{ other: { reference: mergedUrl }, type: 'replaces' }];
    st.add(survivor.fullUrl, survivor.resource, MapState.putBy('Patient', st.mrnSystem, survivor.mrn));
    st.add(mergedUrl, retired, MapState.putBy('Patient', st.mrnSystem, prior));
  }
}

function priorMrn(mrg: Hl7Segment): string {
  const mrn = chooseIdentifiers(mrg, 1).mrn?.value;
  if (!mrn)
    throw fail('MRG-1 (prior patient identifier list) holds no institution identifier', mrg.at(1), '101');
  return mrn;
}
