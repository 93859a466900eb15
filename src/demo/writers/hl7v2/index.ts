import type { InstitutionEntry } from '../../../institutions/types.ts';
import { encodeHl7 } from '../../../parse/hl7v2/index.ts';
import type { DemoDirectory } from '../../care/directory.ts';
import type { CareEvent, DemoChannel, InstitutionWriter, Registration, RenderedFile } from '../../types.ts';
import {
  registrationMessage,
  reportMessage,
  visitMessages,
  type Hl7Message,
  type Sender,
} from './messages.ts';

export { badHl7Files } from './bad.ts';
export type { Hl7Message } from './messages.ts';

/** Event kinds an HL7 v2 institution sends (ADT for visits, ORU^R01 for reports). */
export const HL7_EVENT_KINDS: readonly CareEvent['kind'][] = [
  'visit',
  'lab-report',
  'ecg-report',
  'imaging-report',
  'pathology-report',
];

type Hl7Channel = 'hl7v2-mllp' | 'hl7v2-http';

const APPLICATION: Record<string, string> = {
  visit: 'HIS',
  'lab-report': 'LIS',
  'ecg-report': 'ECG',
  'imaging-report': 'PACS',
  'pathology-report': 'PIS',
};

/**
 * How an institution sends one kind: visits from the HIS over MLLP when it has MLLP, reports
 * from the LIS/PACS over HTTP when it has HTTP; a lab report goes out under the `-LIS` facility
 * code when the institution has one (the county hospital's LIS sends as `CPH-LIS`).
 */
export function hl7Route(
  inst: InstitutionEntry,
  kind: CareEvent['kind'] | 'registration',
): { channel: Hl7Channel; sender: Sender } | undefined {
  const mllp = inst.formats.includes('hl7v2-mllp');
  const http = inst.formats.includes('hl7v2-http');
  if (!mllp && !http) return undefined;
  const preferHttp = kind !== 'visit' && kind !== 'registration';
  const channel: Hl7Channel = (preferHttp ? http : !mllp) ? 'hl7v2-http' : 'hl7v2-mllp';
  const lis = kind === 'lab-report' ? inst.facilityCodes.find((f) => /-LIS$/.test(f)) : undefined;
  const facility = lis ?? inst.facilityCodes[0];
  if (!facility) return undefined;
  return { channel, sender: { application: APPLICATION[kind] ?? 'HIS', facility, charset: inst.charset } };
}

/** Messages → one file per channel, in time order (ties by control id), each message + `\n`. */
function files(
  institution: InstitutionEntry,
  folder: string,
  byChannel: Map<Hl7Channel, Hl7Message[]>,
): RenderedFile[] {
  return [...byChannel.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([channel, msgs]) => {
      msgs.sort((a, b) =>
        a.time < b.time
          ? -1
          : a.time > b.time
            ? 1
            : a.controlId < b.controlId
              ? -1
              : a.controlId > b.controlId
                ? 1
                : 0,
      );
      const text = msgs.map((m) => `${m.text}\n`).join('');
      return {
        path: `${folder}/${institution.id}/${channel}.hl7`,
        institution: institution.id,
        channel: channel as DemoChannel,
        messages: msgs.length,
        charset: institution.charset,
        bytes: encodeHl7(text, institution.charset),
        controlIds: msgs.map((m) => m.controlId),
      };
    });
}

function push(map: Map<Hl7Channel, Hl7Message[]>, channel: Hl7Channel, msgs: Hl7Message[]): void {
  const list = map.get(channel) ?? [];
  list.push(...msgs);
  map.set(channel, list);
}

function registrationOf(
  regs: ReadonlyMap<string, Registration>,
  personId: string,
  institutionId: string,
): Registration {
  const reg = regs.get(personId);
  if (!reg) throw new Error(`${institutionId}: no registration for ${personId}`);
  return reg;
}

/**
 * The HL7 v2 writer for the institutions that speak it (the county hospitals' HIS and LIS, the
 * shared centres): ADT for visits, ORU^R01 for lab panels and ECG/imaging/pathology reports.
 */
export function createHl7v2Writer(directory: DemoDirectory): InstitutionWriter {
  const practitioner = (id: string | undefined) => directory.practitioners.find((p) => p.id === id);
  return ({ institutionId, events, registrations, folder }) => {
    const inst = directory.institution(institutionId);
    if (!inst) throw new Error(`HL7 v2 writer: ${institutionId} is not in the registry`);
    const byChannel = new Map<Hl7Channel, Hl7Message[]>();
    for (const e of events) {
      const route = hl7Route(inst, e.kind);
      if (!route) throw new Error(`${institutionId} cannot send ${e.kind} as HL7 v2`);
      const reg = registrationOf(registrations, e.personId, institutionId);
      const who = practitioner(e.practitionerId);
      if (e.kind === 'visit') push(byChannel, route.channel, visitMessages(e, reg, route.sender, who));
      else if (
        e.kind === 'lab-report' ||
        e.kind === 'ecg-report' ||
        e.kind === 'imaging-report' ||
        e.kind === 'pathology-report'
      ) {
        const orderer = directory.institution(e.orderedBy)?.name.zh ?? e.orderedBy;
        push(byChannel, route.channel, [reportMessage(e, reg, route.sender, orderer, who)]);
      } else throw new Error(`${institutionId}: HL7 v2 writer does not render ${e.kind} events`);
    }
    return files(inst, folder, byChannel);
  };
}

/**
 * Phase 1 for an HL7 v2 institution: an ADT^A28 per registered patient, dated at their first
 * event there, so the institution's patient index reaches the exchange before the care.
 */
export function createHl7v2RegistrationWriter(directory: DemoDirectory): InstitutionWriter {
  return ({ institutionId, events, registrations, folder }) => {
    const inst = directory.institution(institutionId);
    if (!inst) throw new Error(`HL7 v2 writer: ${institutionId} is not in the registry`);
    const route = hl7Route(inst, 'visit');
    if (!route) return [];
    const first = new Map<string, string>();
    for (const e of events) {
      const t = first.get(e.personId);
      if (t === undefined || e.time < t) first.set(e.personId, e.time);
    }
    const msgs = [...first.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([personId, time]) =>
        registrationMessage(registrationOf(registrations, personId, institutionId), route.sender, time),
      );
    return files(inst, folder, new Map([[route.channel, msgs]]));
  };
}
