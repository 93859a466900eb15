import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { MappingError } from '../../mapping/types.ts';

/** One data row: its 1-based line in the file (the header is line 1), its cells by column name, and its own text. */
export interface CsvRow {
  line: number;
  cells: Record<string, string>;
  /** The row as it appeared (for the archive: each row is its own message). */
  text: string;
}

export interface CsvDocument {
  columns: string[];
  rows: CsvRow[];
  charset: string;
}

export interface CsvOptions {
  /** From the content-type, else the institution's registered charset. */
  charset: string;
  delimiter?: string;
}

/**
 * CSV exports from clinic systems (RFC 4180 quoting through `csv-parse`): a header row, an
 * optional BOM, UTF-8 or GBK/GB 18030 bytes, a configurable delimiter. Errors name the line and
 * the column. Decoding is strict for UTF-8 (a GBK file sent as UTF-8 is refused, not garbled).
 */
export function parseCsv(raw: Buffer, opts: CsvOptions): CsvDocument {
  const charset = normaliseCharset(opts.charset);
  let text: string;
  try {
    text =
      charset === 'utf-8'
        ? new TextDecoder('utf-8', { fatal: true }).decode(raw)
        : iconv.decode(raw, charset);
  } catch {
    throw new MappingError([
      { severity: 'error', text: `The file is not valid ${opts.charset} text`, expression: 'line 1' },
    ]);
  }
  text = text.replace(/^\uFEFF/, '');
  let records: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    records = parse(text, {
      delimiter: opts.delimiter ?? ',',
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      raw: true,
    }) as unknown as { record: string[]; info: { lines: number }; raw: string }[];
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new MappingError([
      { severity: 'error', text: `CSV: ${e.message}`, expression: `line ${e.lines ?? '?'}` },
    ]);
  }
  const [header, ...data] = records;
  if (!header)
    throw new MappingError([
      { severity: 'error', text: 'The file is empty (no header row)', expression: 'line 1' },
    ]);
  const columns = header.record.map((c) => c.trim());
  const problems = [];
  const rows: CsvRow[] = [];
  for (const r of data) {
    const line = r.info.lines;
    if (r.record.length !== columns.length) {
      const missing = columns.slice(r.record.length);
      problems.push({
        severity: 'error' as const,
        text:
          r.record.length < columns.length
            ? `Line ${line} has ${r.record.length} cells for ${columns.length} columns (missing: ${missing.join(', ')})`
            : `Line ${line} has ${r.record.length} cells for ${columns.length} columns`,
        expression: `line ${line}, column "${missing[0] ?? columns.at(-1)}"`,
      });
      continue;
    }
    const cells: Record<string, string> = {};
    columns.forEach((c, i) => (cells[c] = r.record[i]!));
    rows.push({ line, cells, text: r.raw.replace(/[\r\n]+$/, '') });
  }
  if (problems.length > 0) throw new MappingError(problems);
  return { columns, rows, charset: opts.charset };
}

function normaliseCharset(label: string): string {
  const l = label.trim().toLowerCase().replace(/[\s_]/g, '');
  if (l === 'utf-8' || l === 'utf8' || l === 'unicodeutf-8') return 'utf-8';
  if (l === 'gb18030' || l === 'gb18030-2000' || l === 'gbk' || l === 'gb2312') return 'gb18030';
  if (!iconv.encodingExists(l))
    throw new MappingError([
      { severity: 'error', text: `Unknown charset "${label}"`, expression: 'Content-Type' },
    ]);
  return l;
}
