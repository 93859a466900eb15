import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { controlIdOf, parseAcks } from '../../../src/demo/send/channels.ts';
import { splitMessages } from '../../../src/demo/send/split.ts';

describe('splitting a generated file into its messages', () => {
  it('splits HL7 v2 on \\n, keeping each message’s \\r segment ends', () => {
    const a = 'MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101||ADT^A01|C1|P|2.5.1\rPID|1||M1\r';
    const b = 'MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101||ADT^A01|C2|P|2.5.1\rPID|1||M2\r';
    const { messages } = splitMessages('hl7v2-mllp', Buffer.from(`${a}\n${b}\n\n`));
    expect(messages.map((m) => m.toString())).toEqual([a, b]);
    expect(messages.map(controlIdOf)).toEqual(['C1', 'C2']);
  });

  it('splits NDJSON into one message per non-blank line', () => {
    const { messages } = splitMessages('fhir', Buffer.from('{"a":1}\n\n{"b":2}\n'));
    expect(messages.map((m) => JSON.parse(m.toString()))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('keeps a CSV header apart, handles CRLF and quoted line breaks, in GB 18030 bytes', () => {
    const text = '编号,姓名,备注\r\n1,欧阳明,"两行\r\n备注"\r\n2,司马兰,\r\n';
    const { header, messages } = splitMessages('csv:village-visits', iconv.encode(text, 'gb18030'));
    expect(iconv.decode(header!, 'gb18030')).toBe('编号,姓名,备注');
    expect(messages.map((m) => iconv.decode(m, 'gb18030'))).toEqual(['1,欧阳明,"两行\r\n备注"', '2,司马兰,']);
  });
});

describe('reading ACKs', () => {
  it('takes MSA-1 of each ACK in order, and the error text of a refusal', () => {
    const body = [
      'MSH|^~\\&|HIE|COUNTY|HIS|CPH|20261101||ACK^A01|X1|P|2.5.1\rMSA|AA|C1\r',
      'MSH|^~\\&|HIE|COUNTY|HIS|CPH|20261101||ACK^A01|X2|P|2.5.1\rMSA|AE|C2\rERR||PID^1^7|102^Data type error^HL70357|E||||PID-7 is not a date\r',
    ].join('\n');
    expect(parseAcks(body)).toEqual([{ code: 'AA' }, { code: 'AE', text: 'PID-7 is not a date' }]);
  });
});
