import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { MappingError } from '../../src/mapping/types.ts';
import { decodeHl7, readMsh18 } from '../../src/parse/hl7v2/index.ts';

const msh = (charset: string) =>
  `MSH|^~\\&|HIS|XQWSY|HIE|COUNTY|20240301083000||ADT^A01^ADT_A01|C1|P|2.5.1|||AL|NE|CHN|${charset}\r`;

describe('decodeHl7', () => {
  it('strips a UTF-8 BOM and decodes UTF-8 by default', () => {
    const raw = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(msh('') + 'PID|1||M1^^^^MR||张^三\r'),
    ]);
    const out = decodeHl7(raw, { defaultCharset: 'UTF-8' });
    expect(out.charset).toBe('UTF-8');
    expect(out.text.startsWith('MSH|')).toBe(true);
    expect(out.text).toContain('张^三');
  });

  it('decodes GB 18030 bytes named in MSH-18 as table 0211 spells it', () => {
    const text = msh('GB 18030-2000') + 'PID|1||M1^^^^MR||欧阳^秀英||19850312|F|||浙江省湖州市长兴县\r';
    const raw = iconv.encode(text, 'gb18030');
    expect(raw.includes(Buffer.from('欧阳', 'utf8'))).toBe(false); // really not UTF-8 bytes
    expect(readMsh18(raw)).toBe('GB 18030-2000');
    const out = decodeHl7(raw, { defaultCharset: 'UTF-8' });
    expect(out).toEqual({ text, charset: 'GB18030' });
  });

  it('uses the institution default when MSH-18 is empty', () => {
    const text = msh('') + 'PID|1||M1^^^^MR||王^芳\r';
    expect(decodeHl7(iconv.encode(text, 'gb18030'), { defaultCharset: 'GB18030' }).text).toBe(text);
  });

  it('lets the content-type charset win over MSH-18', () => {
    const text = msh('8859/1') + 'PID|1||M1^^^^MR||李^娜\r';
    const out = decodeHl7(Buffer.from(text, 'utf8'), {
      contentTypeCharset: 'utf-8',
      defaultCharset: 'GB18030',
    });
    expect(out.charset).toBe('UTF-8');
    expect(out.text).toContain('李^娜');
  });

  it('reads 8859/1 as Latin-1', () => {
    const text = msh('8859/1') + 'PID|1||M1^^^^MR||Müller^Jörg\r';
    expect(decodeHl7(Buffer.from(text, 'latin1'), { defaultCharset: 'UTF-8' }).text).toContain('Müller^Jörg');
  });

  it('refuses invalid UTF-8 under a UTF-8 charset instead of inserting U+FFFD', () => {
    const gbBytes = iconv.encode(msh('UNICODE UTF-8') + 'PID|1||M1^^^^MR||张^三\r', 'gb18030');
    expect(() => decodeHl7(gbBytes, { defaultCharset: 'UTF-8' })).toThrow(MappingError);
    try {
      decodeHl7(gbBytes, { defaultCharset: 'UTF-8' });
    } catch (e) {
      expect((e as MappingError).problems[0]!.hl7).toMatchObject({ segment: 'MSH', field: 18, code: '102' });
    }
  });

  it('refuses an unknown charset and non-ASCII bytes declared ASCII', () => {
    expect(() => decodeHl7(Buffer.from(msh('KLINGON')), { defaultCharset: 'UTF-8' })).toThrow(
      /Unsupported character set "KLINGON"/,
    );
    expect(() =>
      decodeHl7(Buffer.from(msh('ASCII') + 'PID|1||é\r', 'latin1'), { defaultCharset: 'UTF-8' }),
    ).toThrow(/not ASCII/);
  });
});
