import type { DiagnosticReport, Observation, Reference } from 'fhir/r4';
import type { Hl7Segment, ParsedHl7 } from '../../parse/hl7v2/index.ts';
import { codeable, knownOr } from './datatypes.ts';
import { mapEncounter } from './encounter.ts';
import { observationValue, referenceRange } from './observation-value.ts';
import { mapPatient } from './patient.ts';
import { fail, MapState } from './state.ts';
import { toInstant } from './time.ts';

const REPORT_STATUS: Record<string, DiagnosticReport['status']> = {
  O: 'registered',
  I: 'registered',
  S: 'partial',
  A: 'partial',
  P: 'preliminary',
  R: 'preliminary',
  C: 'corrected',
  F: 'final',
  X: 'cancelled',
  M: 'amended',
};
const RESULT_STATUS: Record<string, Observation['status']> = {
  F: 'final',
  P: 'preliminary',
  R: 'preliminary',
  S: 'preliminary',
  I: 'registered',
  C: 'corrected',
  A: 'amended',
  D: 'entered-in-error',
  W: 'entered-in-error',
  X: 'cancelled',
  U: 'final',
};
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

interface Current {
  subject: Reference;
  encounter?: Reference;
}

/**
 * ORU^R01, segment by segment: a PID starts a patient (keyed by MRN), a PV1 its optional
 * Encounter, an OBR a DiagnosticReport (keyed by OBR-3, else OBR-2, in the source-id system),
 * and each OBX an Observation of that report keyed `{report id}-{OBX-1}` so re-sends update.
 */
export function mapOru(msg: ParsedHl7, st: MapState): void {
  if (!msg.segment('PID')) throw fail('ORU^R01 has no PID segment', { segment: 'PID', sequence: 1 }, '100');
  let cur: Current | undefined;
  let report: { resource: DiagnosticReport; id: string; obr: Hl7Segment; count: number } | undefined;
  for (const seg of msg.segments) {
    if (seg.name === 'PID') {
      const p = mapPatient(seg, st);
      st.add(p.fullUrl, p.resource, MapState.putBy('Patient', st.mrnSystem, p.mrn));
      cur = { subject: { reference: p.fullUrl } };
      report = undefined;
    } else if (seg.name === 'PV1' && cur) {
      const enc = mapEncounter(seg, undefined, cur.subject.reference!, 'R01', st);
      if (enc) {
        st.add(enc.fullUrl, enc.resource, enc.request);
        cur.encounter = { reference: enc.fullUrl };
      }
    } else if (seg.name === 'OBR') {
      if (!cur) throw fail('OBR before any PID', seg.at(), '100');
      const r = mapReport(seg, cur, msg, st);
      st.add(
        st.fullUrl(`DiagnosticReport|${r.id}`),
        r.resource,
        MapState.putBy('DiagnosticReport', st.sourceIdSystem, r.id),
      );
      report = { ...r, obr: seg, count: 0 };
    } else if (seg.name === 'OBX') {
      if (!report || !cur) {
        st.warn('OBX outside an OBR group is not mapped', seg.at());
        continue;
      }
      report.count++;
      const setId = seg.get(1) || String(report.count);
      const obsId = `${report.id}-${setId}`;
      const url = st.fullUrl(`Observation|${obsId}`);
      st.add(
        url,
        mapObservation(seg, report.obr, obsId, cur, msg, st),
        MapState.putBy('Observation', st.sourceIdSystem, obsId),
      );
      (report.resource.result ??= []).push({ reference: url });
    }
  }
}

function issued(obr: Hl7Segment, msg: ParsedHl7, st: MapState): string | undefined {
  const t = st.time(obr, 22) ?? st.time(msg.msh, 7);
  return t ? toInstant(t, st.tz) : undefined;
}

function mapReport(
  obr: Hl7Segment,
  cur: Current,
  msg: ParsedHl7,
  st: MapState,
): { resource: DiagnosticReport; id: string } {
  const id = obr.get(3) || obr.get(2);
  if (!id)
    throw fail(
      'OBR-3 (filler order number) and OBR-2 (placer order number) are both empty: the report cannot be identified',
      obr.at(3),
      '101',
    );
  const code = codeable(
    obr.repetitions(4)[0],
    knownOr(() => st.localCodeSystem('obr-4')),
  );
  if (!code) throw fail('OBR-4 (universal service identifier) is empty', obr.at(4), '101');
  const statusCode = obr.get(25);
  const status = REPORT_STATUS[statusCode] ?? 'unknown';
  if (statusCode && !REPORT_STATUS[statusCode])
    st.warn(`OBR-25 "${statusCode}" is not a table 0123 code`, obr.at(25), 'code-invalid');
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    identifier: [{ system: st.sourceIdSystem, value: id }],
    status,
    code,
    subject: cur.subject,
    ...(cur.encounter ? { encounter: cur.encounter } : {}),
  };
  const section = obr.get(24);
  if (section)
    report.category = [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: section }] },
    ];
  const effective = st.time(obr, 7);
  if (effective) report.effectiveDateTime = effective.dateTime;
  const at = issued(obr, msg, st);
  if (at) report.issued = at;
  return { resource: report, id };
}

function mapObservation(
  obx: Hl7Segment,
  obr: Hl7Segment,
  id: string,
  cur: Current,
  msg: ParsedHl7,
  st: MapState,
): Observation {
  const code = codeable(obx.repetitions(3)[0], (sys) =>
    sys.toUpperCase() === 'LN' ? 'http://loinc.org' : st.localCodeSystem('obx-3'),
  );
  if (!code) throw fail('OBX-3 (observation identifier) is empty', obx.at(3), '101');
  const statusCode = obx.get(11);
  const status = RESULT_STATUS[statusCode] ?? 'unknown';
  if (statusCode && !RESULT_STATUS[statusCode])
    st.warn(`OBX-11 "${statusCode}" is not a table 0085 code`, obx.at(11), 'code-invalid');
  const obs: Observation = {
    resourceType: 'Observation',
    identifier: [{ system: st.sourceIdSystem, value: id }],
    status,
    code,
    subject: cur.subject,
    ...(cur.encounter ? { encounter: cur.encounter } : {}),
    ...observationValue(obx, st),
  };
  const effective = st.time(obx, 14) ?? st.time(obr, 7);
  if (effective) obs.effectiveDateTime = effective.dateTime;
  const at = issued(obr, msg, st);
  if (at) obs.issued = at;
  const range = referenceRange(obx);
  if (range) obs.referenceRange = range;
  const flags = obx
    .repetitions(8)
    .map((r) => r.get(1))
    .filter((c) => c !== '');
  if (flags.length)
    obs.interpretation = flags.map((c) => ({ coding: [{ system: INTERPRETATION, code: c }] }));
  return obs;
}
