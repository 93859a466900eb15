import { describe, expect, it } from 'vitest';
import { MappingError } from '../../src/mapping/types.ts';
import { parseHl7, splitHl7Messages, unescapeHl7, DEFAULT_DELIMITERS } from '../../src/parse/hl7v2/index.ts';

const MSH =
  'MSH|^~\\&|HIS|XQWSY|HIE|COUNTY|20240301083000||ADT^A01^ADT_A01|CTRL-1|P|2.5.1|||AL|NE||UNICODE UTF-8';

function problemOf(fn: () => unknown): { err: MappingError; hl7: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MappingError);
    const err = e as MappingError;
    return { err, hl7: err.problems[0]!.hl7 as unknown as Record<string, unknown> };
  }
  throw new Error('expected a MappingError');
}

describe('splitHl7Messages', () => {
  it('splits several messages and normalises CR, LF and CRLF to CR', () => {
    const body = `${MSH}\r\nPID|1\r\n${MSH.replace('CTRL-1', 'CTRL-2')}\nPID|2\nPV1|1\r${MSH.replace('CTRL-1', 'CTRL-3')}\rPID|3`;
    const parts = splitHl7Messages(body);
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(`${MSH.replace('CTRL-1', 'CTRL-2')}\rPID|2\rPV1|1\r`);
    expect(parts.every((p) => !p.includes('\n'))).toBe(true);
    expect(parts.map((p) => parseHl7(p).controlId)).toEqual(['CTRL-1', 'CTRL-2', 'CTRL-3']);
  });

  it('drops batch envelopes and empty lines', () => {
    const body = `FHS|^~\\&\rBHS|^~\\&\r\r${MSH}\rPID|1\r\rBTS|1\rFTS|1\r`;
    expect(splitHl7Messages(body)).toEqual([`${MSH}\rPID|1\r`]);
    expect(splitHl7Messages('\r\n  \n')).toEqual([]);
  });
});

describe('parseHl7', () => {
  const msg = parseHl7(
    `${MSH}\rEVN|A01|20240301083000\rPID|1||M001^^^XQWSY^MR~330522198503121233^^^CHNID^NNCHN||张\\T\\李^三~Wang\\S\\Li^Fang||19850312|M\rNTE|1||line one\\.br\\line two \\F\\ pipe \\E\\ back \\X41\\ \\XE4B8AD\\\rZPI|1|a&b&c^d\rNTE|2\r`,
  );

  it('exposes MSH fields', () => {
    expect(msg.messageType).toBe('ADT^A01');
    expect(msg.messageStructure).toBe('ADT_A01');
    expect(msg.controlId).toBe('CTRL-1');
    expect(msg.processingId).toBe('P');
    expect(msg.version).toBe('2.5.1');
    expect(msg.sendingApplication).toBe('HIS');
    expect(msg.sendingFacility).toBe('XQWSY');
    expect(msg.messageTime).toBe('20240301083000');
    expect(msg.charset).toBe('UNICODE UTF-8');
    expect(msg.msh.raw(1)).toBe('|');
    expect(msg.msh.raw(2)).toBe('^~\\&');
    expect(msg.msh.get(2)).toBe('^~\\&'); // never split or un-escaped
  });

  it('numbers segments and gives repetitions, components and sub-components', () => {
    expect(msg.segments.map((s) => `${s.name}${s.sequence}@${s.position}`)).toEqual([
      'MSH1@1',
      'EVN1@2',
      'PID1@3',
      'NTE1@4',
      'ZPI1@5',
      'NTE2@6',
    ]);
    const pid = msg.segment('PID')!;
    expect(pid.repetitions(3)).toHaveLength(2);
    expect(pid.get(3, 5, 1, 2)).toBe('NNCHN');
    expect(pid.get(3, 4, 1, 1)).toBe('XQWSY');
    const z = msg.segment('ZPI')!;
    expect([z.get(2, 1, 1), z.get(2, 1, 2), z.get(2, 1, 3), z.get(2, 2)]).toEqual(['a', 'b', 'c', 'd']);
    expect(z.get(9)).toBe('');
    expect(msg.segment('NTE', 2)!.sequence).toBe(2);
  });

  it('un-escapes after splitting, so escaped delimiters stay text', () => {
    const pid = msg.segment('PID')!;
    expect(pid.get(5, 1)).toBe('张&李');
    expect(pid.get(5, 1, 1, 2)).toBe('Wang^Li');
    expect(pid.repetitions(5)[1]!.componentCount).toBe(2);
    expect(msg.segment('NTE')!.get(3)).toBe('line one\nline two | pipe \\ back A 中');
  });

  it('keeps unknown and unterminated escapes as written', () => {
    expect(unescapeHl7('a\\Q\\b', DEFAULT_DELIMITERS)).toBe('a\\Q\\b');
    expect(unescapeHl7('tail \\r"', DEFAULT_DELIMITERS)).toBe('tail \\r"');
    expect(unescapeHl7('\\H\\bold\\N\\ \\R\\', DEFAULT_DELIMITERS)).toBe('bold ~');
  });

  it('reads other delimiters from MSH-1/MSH-2', () => {
    const m = parseHl7('MSH#$*!@#A#F#R#RF#20240101##ORU$R01#C9#P#2.4\rOBX#1#ST#X$Y##a!F!b@c$d*e\r');
    expect(m.messageType).toBe('ORU^R01');
    const obx = m.segment('OBX')!;
    expect(obx.get(3, 2)).toBe('Y');
    expect(obx.get(5, 1, 1)).toBe('a#b');
    expect(obx.get(5, 1, 2)).toBe('c');
    expect(obx.get(5, 2)).toBe('d');
    expect(obx.get(5, 1, 1, 2)).toBe('e');
  });

  it('refuses a body without MSH (100)', () => {
    const { err, hl7 } = problemOf(() => parseHl7('PID|1||M1\r'));
    expect(err.kind).toBe('error');
    expect(hl7).toMatchObject({ segment: 'MSH', code: '100' });
  });

  it('refuses broken delimiters (102 on MSH-2), including a doubled backslash', () => {
    expect(problemOf(() => parseHl7('MSH|^~\\\\&|A|F|||20240101||ADT^A01|1|P|2.6\r')).hl7).toMatchObject({
      segment: 'MSH',
      field: 2,
      code: '102',
    });
    expect(problemOf(() => parseHl7('MSH|^~|A\r')).hl7).toMatchObject({ field: 2, code: '102' });
    expect(problemOf(() => parseHl7('MSHX^~\\&X\r')).hl7).toMatchObject({ field: 1, code: '102' });
  });

  it('refuses a line that is not a segment (100, naming its position)', () => {
    const { hl7, err } = problemOf(() => parseHl7(`${MSH}\rPID|1\rthis is not a segment\r`));
    expect(hl7).toMatchObject({ sequence: 3, code: '100' });
    expect(err.message).toContain('Segment 3');
  });

  it('refuses missing MSH-9, MSH-10, MSH-12 (101)', () => {
    expect(problemOf(() => parseHl7(MSH.replace('ADT^A01^ADT_A01', ''))).hl7).toMatchObject({
      field: 9,
      code: '101',
    });
    expect(problemOf(() => parseHl7(MSH.replace('CTRL-1', ''))).hl7).toMatchObject({
      field: 10,
      code: '101',
    });
    expect(problemOf(() => parseHl7(MSH.replace('2.5.1', ''))).hl7).toMatchObject({ field: 12, code: '101' });
  });

  it('rejects an unsupported version (203, kind reject)', () => {
    const { err, hl7 } = problemOf(() => parseHl7(MSH.replace('2.5.1', '2.2')));
    expect(err.kind).toBe('reject');
    expect(hl7).toMatchObject({ field: 12, code: '203' });
  });
});
