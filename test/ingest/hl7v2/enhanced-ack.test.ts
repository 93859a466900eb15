import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { mllpReply, httpAcks } from '../../../src/ingest/hl7v2/accept-ack.ts';
import { buildAck, inAckMode } from '../../../src/ingest/hl7v2/ack.ts';
import {
  acceptAckWanted,
  ackModeOf,
  ackModesOfBody,
  readAckMode,
  type AckMode,
} from '../../../src/ingest/hl7v2/ack-mode.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';

const now = new Date(Date.UTC(2026, 10, 1, 8, 0, 0));
/** An ADT^A01 whose MSH-15/16 are given; MSH-13/14 left empty as senders usually do. */
const adt = (controlId: string, msh15 = '', msh16 = '', version = '2.5.1') =>
  `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A01^ADT_A01|${controlId}|P|${version}|||${msh15}|${msh16}|CHN|UNICODE UTF-8\r` +
  `PID|1||${controlId}^^^CPH^MR||王^秀英||19561231|F\r`;
const msa = (ack: string) => parseHl7(ack).segment('MSA')!;

describe('reading MSH-15/16', () => {
  it('both empty is original mode; either valued is enhanced', () => {
    expect(ackModeOf(parseHl7(adt('M1')))).toEqual({ kind: 'original' });
    expect(ackModeOf(parseHl7(adt('M2', 'NE', 'AL')))).toEqual({
      kind: 'enhanced',
      accept: 'NE',
      application: 'AL',
    });
    // Only MSH-16 valued: enhanced, and an empty MSH-15 asks for the accept ACK (AL).
    expect(ackModeOf(parseHl7(adt('M3', '', 'ER')))).toEqual({
      kind: 'enhanced',
      accept: 'AL',
      application: 'ER',
    });
  });

  it('reads the mode from the MSH line of a message the parser refuses (version 2.2)', () => {
    const text = adt('M4', 'ER', 'NE', '2.2');
    expect(() => parseHl7(text)).toThrow();
    expect(readAckMode(text)).toEqual({ kind: 'enhanced', accept: 'ER', application: 'NE' });
  });

  it('reads each message of a body in order, after decoding its charset', () => {
    // 亅 is 0x81 0x7C in GB 18030: read as Latin-1 its trail byte would be one more field separator.
    const gb = (id: string, msh15: string) =>
      `MSH|^~\\&|亅HIS|CPH|HIE|COUNTY|20261101083000||ADT^A01|${id}|P|2.5.1|||${msh15}||CHN|GB 18030-2000\rPID|1||${id}^^^CPH^MR||王^秀英\r`;
    const raw = iconv.encode(gb('G1', 'NE') + gb('G2', 'SU'), 'gb18030');
    expect(raw.includes(0x7c)).toBe(true);
    // The charset named by the HTTP content type (MSH-18 is read from the bytes with the same hazard).
    const modes = ackModesOfBody(raw, { contentTypeCharset: 'GB18030', defaultCharset: 'UTF-8' });
    expect(modes.map((m) => (m.kind === 'enhanced' ? m.accept : m.kind))).toEqual(['NE', 'SU']);
  });
});

describe('the accept acknowledgement', () => {
  it.each([
    ['AA', 'CA'],
    ['AE', 'CE'],
    ['AR', 'CR'],
  ] as const)('enhanced mode answers %s as %s; original mode keeps %s', (outcome, accept) => {
    const enhanced = buildAck(parseHl7(adt('E1', 'AL', 'NE')), {
      code: outcome,
      controlId: 'A1',
      now,
      text: 'x',
    });
    expect(msa(enhanced).get(1)).toBe(accept);
    expect(msa(enhanced).get(2)).toBe('E1');
    // The ACK asks for no acknowledgement of its own.
    expect([parseHl7(enhanced).msh.raw(15), parseHl7(enhanced).msh.raw(16)]).toEqual(['', '']);
    const original = buildAck(parseHl7(adt('O1')), { code: outcome, controlId: 'A2', now, text: 'x' });
    expect(msa(original).get(1)).toBe(outcome);
  });

  it('without a parsed original, takes the mode it is given or rewrites MSA-1 later', () => {
    const mode: AckMode = { kind: 'enhanced', accept: 'AL', application: '' };
    expect(msa(buildAck(undefined, { code: 'AR', controlId: 'A3', mode, text: 'bad' })).get(1)).toBe('CR');
    const plain = buildAck(undefined, { code: 'AE', controlId: 'A4', text: 'bad version' });
    const rewritten = inAckMode(plain, mode, 'AE');
    expect(msa(rewritten).get(1)).toBe('CE');
    expect(msa(rewritten).get(3)).toBe('bad version');
    expect(rewritten.replace('MSA|CE', 'MSA|AE')).toBe(plain); // only MSA-1 changed
    expect(inAckMode(rewritten, mode, 'AE')).toBe(rewritten);
  });
});

describe('which accept acknowledgements are sent (table 0155 on MSH-15)', () => {
  const enhanced = (accept: 'AL' | 'NE' | 'ER' | 'SU'): AckMode => ({
    kind: 'enhanced',
    accept,
    application: '',
  });

  it.each([
    ['AL', [true, true, true]],
    ['NE', [false, false, false]],
    ['ER', [false, true, true]],
    ['SU', [true, false, false]],
  ] as const)('MSH-15 %s for CA, CE, CR', (accept, wanted) => {
    expect((['AA', 'AE', 'AR'] as const).map((o) => acceptAckWanted(enhanced(accept), o))).toEqual(wanted);
  });

  it('MLLP: sends the wanted ones, converted; drops the connection for a refusal nobody hears', () => {
    const ack = (id: string, code: 'AA' | 'AE' | 'AR') =>
      buildAck(parseHl7(adt(id)), { code, controlId: `A-${id}`, now, text: code });
    const answers = [
      { ack: ack('K1', 'AA'), code: 'AA' as const, stored: true },
      { ack: ack('K2', 'AE'), code: 'AE' as const, stored: true },
      { ack: ack('K3', 'AA'), code: 'AA' as const, stored: true },
    ];
    const reply = mllpReply(answers, [enhanced('NE'), enhanced('ER'), { kind: 'original' }]);
    expect(reply.drop).toBe(false);
    expect(reply.acks.map((a) => [msa(a).get(1), msa(a).get(2)])).toEqual([
      ['CE', 'K2'],
      ['AA', 'K3'],
    ]);

    const storageDown = [{ ack: ack('K4', 'AR'), code: 'AR' as const, stored: false }];
    expect(mllpReply(storageDown, [enhanced('NE')])).toEqual({ acks: [], drop: true });
    expect(mllpReply(storageDown, [enhanced('ER')]).drop).toBe(false);
    // A stored message the sender wants no answer for: silence, and the connection stays.
    expect(mllpReply([answers[0]!], [enhanced('ER')])).toEqual({ acks: [], drop: false });
  });

  it('HTTP: every message is answered, NE included', () => {
    const a = buildAck(parseHl7(adt('H1', 'NE', 'NE')), { code: 'AA', controlId: 'A5', now });
    const acks = httpAcks([{ ack: a, code: 'AA', stored: true }], [enhanced('NE')]);
    expect(acks.map((x) => msa(x).get(1))).toEqual(['CA']);
  });
});
