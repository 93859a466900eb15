import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { MappingError } from '../../src/mapping/types.ts';
import { parseCsv } from '../../src/parse/csv/parse-csv.ts';

const problems = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof MappingError) return err.problems;
    throw err;
  }
  throw new Error('expected a MappingError');
};

describe('parseCsv', () => {
  it('reads quoted cells with commas, quotes and line breaks, and a BOM', () => {
    const csv = '\uFEFFname,note,sbp\r\n王秀英,"头晕, ""轻度""",150\r\n李四,"第一行\n第二行",132\r\n';
    const doc = parseCsv(Buffer.from(csv), { charset: 'UTF-8' });
    expect(doc.columns).toEqual(['name', 'note', 'sbp']);
    expect(doc.rows.map((r) => r.cells)).toEqual([
      { name: '王秀英', note: '头晕, "轻度"', sbp: '150' },
      { name: '李四', note: '第一行\n第二行', sbp: '132' },
    ]);
    expect(doc.rows[1]!.text).toBe('李四,"第一行\n第二行",132');
  });

  it('decodes GB 18030 when the institution registered it', () => {
    const bytes = iconv.encode('姓名,收缩压\n欧阳秀英,145\n', 'gb18030');
    expect(parseCsv(bytes, { charset: 'GB18030' }).rows[0]!.cells).toEqual({
      姓名: '欧阳秀英',
      收缩压: '145',
    });
  });

  it('refuses GBK bytes declared as UTF-8 instead of garbling them', () => {
    const bytes = iconv.encode('姓名\n王\n', 'gb18030');
    expect(problems(() => parseCsv(bytes, { charset: 'UTF-8' }))[0]!.text).toMatch(/not valid UTF-8/);
  });

  it('names the line and the column of a row with a missing cell', () => {
    const p = problems(() =>
      parseCsv(Buffer.from('name,sex,birth\n张三,M,1970-01-01\n李四,F\n'), { charset: 'UTF-8' }),
    );
    expect(p[0]!.expression).toBe('line 3, column "birth"');
    expect(p[0]!.text).toContain('missing: birth');
  });

  it('takes another delimiter', () => {
    expect(parseCsv(Buffer.from('a;b\n1;2\n'), { charset: 'UTF-8', delimiter: ';' }).rows[0]!.cells).toEqual({
      a: '1',
      b: '2',
    });
  });

  it('refuses an unclosed quote with its line', () => {
    const p = problems(() => parseCsv(Buffer.from('a,b\n1,"open\n'), { charset: 'UTF-8' }));
    expect(p[0]!.expression).toMatch(/^line \d+/);
  });
});
