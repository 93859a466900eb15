import { describe, expect, it } from 'vitest';
import { buildAck } from '../../../src/ingest/hl7v2/ack.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';

const now = new Date(Date.UTC(2024, 2, 1, 0, 30, 0));
const msg = (version: string) =>
  parseHl7(
    `MSH|^~\\&|HIS|XQWSY|HIE|COUNTY|20240301083000||ADT^A01^ADT_A01|CTRL-9|P|${version}\rPID|1||M1^^^^MR||张^三||19850230\r`,
  );
const problem = {
  severity: 'error' as const,
  text: 'PID-7: "19850230" is not a valid HL7 date/time',
  hl7: { segment: 'PID', sequence: 1, field: 7, code: '102' as const },
};

describe('buildAck', () => {
  it('AA: swaps sender and receiver, keeps version and control id', () => {
    const ack = buildAck(msg('2.5.1'), { code: 'AA', controlId: 'ACK-1', now });
    expect(ack.split('\r')).toEqual([
      'MSH|^~\\&|HIE|COUNTY|HIS|XQWSY|20240301003000+0000||ACK^A01^ACK|ACK-1|P|2.5.1',
      'MSA|AA|CTRL-9',
      '',
    ]);
  });

  it('v2.5.1 AE: ERR-2 location, ERR-3 table 0357 code, ERR-4 severity, ERR-8 text', () => {
    const ack = buildAck(msg('2.5.1'), { code: 'AE', controlId: 'ACK-2', problems: [problem], now });
    const err = parseHl7(ack).segment('ERR')!;
    expect(err.raw(2)).toBe('PID^1^7^1');
    expect([err.get(3, 1), err.get(3, 3), err.get(4), err.get(8)]).toEqual([
      '102',
      'HL70357',
      'E',
      problem.text,
    ]);
    expect(parseHl7(ack).segment('MSA')!.get(1)).toBe('AE');
  });

  it('v2.3 AE: one ERR whose ERR-1 repeats SEG^seq^field^code&text', () => {
    const second = {
      severity: 'error' as const,
      text: 'PID-3 | missing',
      hl7: { segment: 'PID', sequence: 1, field: 3, code: '101' as const },
    };
    const ack = buildAck(msg('2.3'), { code: 'AE', controlId: 'ACK-3', problems: [problem, second], now });
    expect(ack).toContain('ACK^A01|ACK-3|P|2.3\r'); // no structure component before 2.3.1
    const errs = parseHl7(ack).all('ERR');
    expect(errs).toHaveLength(1);
    const reps = errs[0]!.repetitions(1);
    expect(reps.map((r) => [r.get(1), r.get(2), r.get(3), r.get(4, 1), r.get(4, 2)])).toEqual([
      ['PID', '1', '7', '102', problem.text],
      ['PID', '1', '3', '101', 'PID-3 | missing'], // the pipe escaped on the wire, intact here
    ]);
    expect(errs[0]!.raw(1)).toContain('PID-3 \\F\\ missing');
  });

  it('storage down: AR with ERR-3 = 207, and an ACK without an original message', () => {
    const ack = buildAck(msg('2.5.1'), {
      code: 'AR',
      controlId: 'ACK-4',
      text: 'Storage unavailable, resend later',
      now,
    });
    const parsed = parseHl7(ack);
    expect(parsed.segment('MSA')!.get(1)).toBe('AR');
    expect(parsed.segment('ERR')!.get(3, 1)).toBe('207');
    const bare = buildAck(undefined, {
      code: 'AR',
      controlId: 'ACK-5',
      receivingApp: 'HIE',
      receivingFacility: 'COUNTY',
      text: 'No MSH',
      now,
    });
    expect(bare.startsWith('MSH|^~\\&|HIE|COUNTY|||')).toBe(true);
    expect(parseHl7(bare).version).toBe('2.5.1');
  });

  it('uses the sender’s delimiters', () => {
    const m = parseHl7('MSH#$*!@#A#F#R#RF#20240101##ORU$R01#C9#P#2.4\r');
    const ack = buildAck(m, { code: 'AE', controlId: 'X', problems: [{ ...problem, text: 'a#b' }], now });
    expect(ack.startsWith('MSH#$*!@#R#RF#A#F#')).toBe(true);
    expect(parseHl7(ack).segment('ERR')!.get(1, 4, 2)).toBe('a#b');
  });
});
