import { encodeHl7 } from '../../../parse/hl7v2/index.ts';
import type { DemoChannel, ExpectedFailure, Registration, RenderedFile } from '../../types.ts';
import { esc, hl7Time, msh, pid, segment } from './er7.ts';

export interface BadHl7Input {
  /** Where the file goes, e.g. `messages/3-deliberately-bad`. */
  folder: string;
  /** The sending institution, its facility code and charset (an HL7 v2 over HTTP sender). */
  institution: { id: string; facility: string; charset: string };
  /** A patient the institution has on file, with a national ID (the messages are bad, the patient is real). */
  registration: Registration;
  /** `YYYY-MM-DDTHH:MM:SS+08:00`: when the bad messages claim to be sent. */
  time: string;
}

/**
 * Deliberately bad HL7 v2 messages, each failing for a stated reason the mapping gives:
 * a NM result that is not a number (AE, 102), an unsupported message type (MDM^T02: AR, 200),
 * an ADT whose PID-3 holds only the national ID (AE, 101) and an unsupported version (AR, 203).
 * One file, sent over HTTP, so the gateway answers each with its own ACK.
 */
export function badHl7Files(input: BadHl7Input): { files: RenderedFile[]; failures: ExpectedFailure[] } {
  const { institution: inst, registration: reg, time } = input;
  const s = { application: 'LIS', facility: inst.facility, charset: inst.charset };
  const at = hl7Time(time);
  const bad: { controlId: string; reason: string; expect: 'AE' | 'AR'; segments: string[] }[] = [
    {
      controlId: 'BAD-NM-0001',
      reason: 'OBX-5 "阴性" is not a number although OBX-2 is NM (HL7 error 102, AE)',
      expect: 'AE',
      segments: [
        msh({ ...s, time, type: 'ORU^R01^ORU_R01', controlId: 'BAD-NM-0001' }),
        pid(reg, inst.facility),
        segment('OBR', {
          1: '1',
          2: 'PBAD-NM-0001',
          3: 'BAD-NM-0001',
          4: '4548-4^糖化血红蛋白^LN',
          7: at,
          22: at,
          24: 'LAB',
          25: 'F',
        }),
        segment('OBX', {
          1: '1',
          2: 'NM',
          3: '4548-4^糖化血红蛋白^LN',
          5: '阴性',
          6: '%^%^UCUM',
          7: '4.0-6.0',
          11: 'F',
        }),
      ],
    },
    {
      controlId: 'BAD-MDM-0001',
      reason: 'MDM^T02 is not a supported message type (ADT, ORU only: HL7 error 200, AR)',
      expect: 'AR',
      segments: [
        msh({ ...s, time, type: 'MDM^T02^MDM_T02', controlId: 'BAD-MDM-0001' }),
        segment('EVN', { 1: 'T02', 2: at }),
        pid(reg, inst.facility),
        segment('PV1', { 1: '1', 2: 'O' }),
        segment('TXA', { 1: '1', 2: 'DS', 3: 'TX', 4: at, 12: 'BAD-MDM-0001', 17: 'AU' }),
        segment('OBX', { 1: '1', 2: 'TX', 3: 'REPORT^报告正文^L', 5: '检验报告说明', 11: 'F' }),
      ],
    },
    {
      controlId: 'BAD-PID3-0001',
      reason:
        'PID-3 holds only the national ID, no institution identifier to key the record (HL7 error 101, AE)',
      expect: 'AE',
      segments: [
        msh({ ...s, time, type: 'ADT^A04^ADT_A01', controlId: 'BAD-PID3-0001' }),
        segment('EVN', { 1: 'A04', 2: at }),
        segment('PID', {
          1: '1',
          3: reg.nationalId ? `${esc(reg.nationalId)}^^^CHNID^NNCHN` : undefined,
          5: esc(reg.name),
        }),
        segment('PV1', { 1: '1', 2: 'O', 19: 'BAD-PID3-0001', 44: at }),
      ],
    },
    {
      controlId: 'BAD-VER-0001',
      reason: 'MSH-12 version 2.1 is not supported (2.3 to 2.8: HL7 error 203, AR)',
      expect: 'AR',
      segments: [
        msh({ ...s, time, type: 'ADT^A04^ADT_A01', controlId: 'BAD-VER-0001', version: '2.1' }),
        segment('EVN', { 1: 'A04', 2: at }),
        pid(reg, inst.facility),
        segment('PV1', { 1: '1', 2: 'O', 19: 'BAD-VER-0001', 44: at }),
      ],
    },
  ];
  const path = `${input.folder}/${inst.id}/hl7v2-http.hl7`;
  const text = bad.map((b) => `${b.segments.join('\r')}\r\n`).join('');
  return {
    files: [
      {
        path,
        institution: inst.id,
        channel: 'hl7v2-http' as DemoChannel,
        messages: bad.length,
        charset: inst.charset,
        bytes: encodeHl7(text, inst.charset),
        controlIds: bad.map((b) => b.controlId),
      },
    ],
    failures: bad.map((b, index) => ({
      path,
      index,
      controlId: b.controlId,
      reason: b.reason,
      expect: b.expect,
    })),
  };
}
