import { createHash } from 'node:crypto';
import iconv from 'iconv-lite';
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { uuidv7 } from '../kernel/ids.ts';
import { issue, notFound, outcome } from '../kernel/outcomes.ts';
import type { InboundMessage } from '../inbox/types.ts';
import type { Institution } from '../institutions/types.ts';
import { MappingError } from '../mapping/types.ts';
import { parseCsv } from '../parse/csv/parse-csv.ts';
import { archiveAndEnqueue } from './archive.ts';
import type { FhirStageParts } from './fhir-stage.ts';
import { parseFhirJson } from '../kernel/fhir-json.ts';
import type { CompiledMapping, MappingSet } from '../mapping/engine/index.ts';
import type { ElementOrigin, MappedMessage } from '../mapping/types.ts';
import { acceptedWarnings, checkMapped } from './validate-stage.ts';
import { placeInInput } from './place-problems.ts';
import { problemsToOutcome } from './outcomes.ts';
import type { Submission, Verdict } from './types.ts';

/**
 * CSV and JSON feeds. A CSV file is split into rows and each row is archived as its own message
 * (header + row, in the sender's charset, so a replay sees the column names); a JSON body must be
 * an object. Their mapping files come with the mapping issue: until a mapping exists for an
 * institution's feed, each message is archived as `failed` with a reason that says so — nothing is
 * lost, and a replay writes them once the mapping is in place.
 */
export async function acceptFeed(
  parts: FeedStageParts,
  sub: Submission,
  format: 'csv' | 'json',
): Promise<Verdict> {
  const feed = sub.feed ?? '';
  const charset = sub.contentTypeCharset ?? sub.institution.charset;
  let pieces: { raw: Buffer; line?: number }[];
  let contentFailure: OperationOutcome | undefined;
  try {
    pieces = format === 'csv' ? csvRows(sub.raw, charset) : [{ raw: jsonObject(sub.raw) }];
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    pieces = [{ raw: sub.raw }];
    contentFailure = problemsToOutcome(err.problems);
  }
  const mapping = parts.mappings?.select({ institution: sub.institution.id, format, feed });
  const stored = [];
  for (const { raw, line } of pieces) {
    const id = uuidv7();
    const verdict: FeedVerdict = contentFailure
      ? { failure: contentFailure }
      : mapping
        ? evaluatePiece(parts, mapping, sub.institution, format, raw, charset, id, line)
        : { failure: noMapping(sub, format, feed) };
    stored.push(
      await archiveAndEnqueue(parts, {
        id,
        institution: sub.institution.id,
        format,
        feed,
        transport: sub.transport,
        type: verdict.mapped?.type ?? `${format}:${feed}`,
        controlId: verdict.mapped?.controlId ?? createHash('sha256').update(raw).digest('hex'),
        raw,
        charset,
        state: verdict.failure ? 'failed' : 'queued',
        ...(verdict.failure
          ? { outcome: verdict.failure }
          : verdict.warnings
            ? { outcome: outcome(...verdict.warnings) }
            : {}),
        ...(verdict.mapped && !verdict.failure ? { bundle: verdict.mapped.bundle } : {}),
        ...(verdict.mapped?.eventTime ? { eventTime: verdict.mapped.eventTime } : {}),
      }),
    );
  }
  const failed = stored.filter((s) => s.message.state === 'failed');
  const first = failed[0] ?? stored[0]!;
  const accepted = failed.length === 0;
  const lines = stored.map((s) => `${s.message.id} ${s.message.state}${s.resend ? ' (re-send)' : ''}`);
  // An accepted answer carries every row's warnings (each names its line and column).
  const summary = accepted
    ? outcome(
        ...stored.flatMap((s) => (s.resend ? [] : (s.message.outcome?.issue ?? []))),
        issue({
          severity: 'information',
          code: 'informational',
          diagnostics: `Accepted ${stored.length} message(s): ${lines.join(', ')}`,
        }),
      )
    : outcome(
        ...(first.message.outcome?.issue ?? []),
        issue({
          severity: 'information',
          code: 'informational',
          diagnostics: `${stored.length} message(s) archived: ${lines.join(', ')}`,
        }),
      );
  return { message: first.message, resend: first.resend, accepted, outcome: summary, format };
}

export interface FeedStageParts extends FhirStageParts {
  /** The mapping files of `mappings/`, loaded at start (absent: every feed message fails as unmapped). */
  mappings?: MappingSet;
}

interface FeedVerdict {
  mapped?: MappedMessage;
  failure?: OperationOutcome;
  /** Accepted with these warnings (kept on the archive row and in the answer). */
  warnings?: OperationOutcomeIssue[];
}

/** Map one row / object and validate what it produced, without side effects (intake and replay). */
function evaluatePiece(
  parts: FeedStageParts,
  mapping: CompiledMapping,
  institution: Institution,
  format: 'csv' | 'json',
  raw: Buffer,
  charset: string,
  archiveId: string,
  /** The row's line in the file it came in (errors name it); the archived piece is header + row. */
  line?: number,
): FeedVerdict {
  try {
    const row = format === 'csv' ? parseCsv(raw, { charset }).rows[0] : undefined;
    const input = row ? { ...row, line: line ?? row.line } : parseFhirJson(raw.toString('utf8'));
    const ctx = { institution, canonicalBase: parts.canonicalBase, archiveId };
    const mapped = mapping.map(input, ctx);
    const checked = placeInInput(checkMapped(parts, mapped.bundle), () => {
      const trace: ElementOrigin[] = [];
      mapping.map(input, { ...ctx, trace });
      return trace;
    });
    const problems = checked.filter((p) => p.severity === 'error');
    if (problems.length > 0) return { mapped, failure: problemsToOutcome(problems) };
    const warnings = acceptedWarnings(mapped, checked);
    return { mapped, ...(warnings.length ? { warnings } : {}) };
  } catch (err) {
    if (err instanceof MappingError) return { failure: problemsToOutcome(err.problems) };
    throw err;
  }
}

/** Header + each data row, re-encoded in the file's charset: one message per row. */
function csvRows(raw: Buffer, charset: string): { raw: Buffer; line: number }[] {
  const doc = parseCsv(raw, { charset });
  const header = doc.columns.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
  if (doc.rows.length === 0)
    throw new MappingError([
      { severity: 'error', text: 'The file has a header but no rows', expression: 'line 2' },
    ]);
  return doc.rows.map((r) => ({
    raw: iconv.encode(`${header}\r\n${r.text}\r\n`, iconv.encodingExists(charset) ? charset : 'utf8'),
    line: r.line,
  }));
}

function jsonObject(raw: Buffer): Buffer {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw new MappingError([
      { severity: 'error', text: `Not valid UTF-8 JSON: ${(err as Error).message}`, expression: '$' },
    ]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MappingError([
      {
        severity: 'error',
        text: `A JSON feed message must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
        expression: '$',
      },
    ]);
  }
  return raw;
}

/** Replay of a feed message: the same mapping (or the same "no mapping") on its archived bytes. */
export function feedEvaluator(
  parts: FeedStageParts,
  institutions: (id: string) => Promise<Institution | undefined>,
  format: 'csv' | 'json',
) {
  return async (m: InboundMessage) => {
    const institution = await institutions(m.institution);
    if (!institution) throw notFound(`Institution ${m.institution} is no longer registered`);
    const feed = m.feed ?? '';
    const mapping = parts.mappings?.select({ institution: institution.id, format, feed });
    if (!mapping)
      return { failure: noMapping({ institution, transport: 'replay', raw: m.raw }, format, feed) };
    const v = evaluatePiece(
      parts,
      mapping,
      institution,
      format,
      m.raw,
      m.charset ?? institution.charset,
      m.id,
    );
    return v.failure
      ? { failure: v.failure }
      : { mapped: v.mapped!, ...(v.warnings ? { warnings: v.warnings } : {}) };
  };
}

function noMapping(sub: Submission, format: 'csv' | 'json', feed: string): OperationOutcome {
  const declared = sub.institution.formats.includes(`${format}:${feed}`);
  return outcome(
    issue({
      severity: 'error',
      code: declared ? 'not-supported' : 'invalid',
      diagnostics: declared
        ? `No mapping is installed for ${format} feed "${feed}" of ${sub.institution.id}; the message is kept and can be replayed once one is`
        : `${sub.institution.id} has no ${format} feed "${feed}" in the registry (formats: ${sub.institution.formats.join(', ')})`,
      hieCode: declared ? 'HIE-INGEST-010' : 'HIE-INGEST-011',
    }),
  );
}
