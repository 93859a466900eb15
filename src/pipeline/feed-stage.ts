import { createHash } from 'node:crypto';
import iconv from 'iconv-lite';
import type { OperationOutcome } from 'fhir/r4';
import { uuidv7 } from '../kernel/ids.ts';
import { issue, notFound, outcome } from '../kernel/outcomes.ts';
import type { InboundMessage } from '../inbox/types.ts';
import type { Institution } from '../institutions/types.ts';
import { MappingError } from '../mapping/types.ts';
import { parseCsv } from '../parse/csv/parse-csv.ts';
import { archiveAndEnqueue } from './archive.ts';
import type { FhirStageParts } from './fhir-stage.ts';
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
  parts: FhirStageParts,
  sub: Submission,
  format: 'csv' | 'json',
): Promise<Verdict> {
  const feed = sub.feed ?? '';
  const charset = sub.contentTypeCharset ?? sub.institution.charset;
  let pieces: Buffer[];
  let contentFailure: OperationOutcome | undefined;
  try {
    pieces = format === 'csv' ? csvRows(sub.raw, charset) : [jsonObject(sub.raw)];
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    pieces = [sub.raw];
    contentFailure = problemsToOutcome(err.problems);
  }
  const failure = contentFailure ?? noMapping(sub, format, feed);
  const stored = [];
  for (const raw of pieces) {
    stored.push(
      await archiveAndEnqueue(parts, {
        id: uuidv7(),
        institution: sub.institution.id,
        format,
        feed,
        transport: sub.transport,
        type: `${format}:${feed}`,
        controlId: createHash('sha256').update(raw).digest('hex'),
        raw,
        charset,
        state: 'failed',
        outcome: failure,
      }),
    );
  }
  const first = stored[0]!;
  const summary =
    stored.length > 1
      ? outcome(
          ...failure.issue,
          issue({
            severity: 'information',
            code: 'informational',
            diagnostics: `${stored.length} rows archived as messages ${stored.map((s) => s.message.id).join(', ')}`,
          }),
        )
      : failure;
  return { message: first.message, resend: first.resend, accepted: false, outcome: summary, format };
}

/** Header + each data row, re-encoded in the file's charset: one message per row. */
function csvRows(raw: Buffer, charset: string): Buffer[] {
  const doc = parseCsv(raw, { charset });
  const header = doc.columns.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
  if (doc.rows.length === 0)
    throw new MappingError([
      { severity: 'error', text: 'The file has a header but no rows', expression: 'line 2' },
    ]);
  return doc.rows.map((r) =>
    iconv.encode(`${header}\r\n${r.text}\r\n`, iconv.encodingExists(charset) ? charset : 'utf8'),
  );
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

/** Replay of a feed message: until the mapping engine lands, the verdict is the same. */
export function feedEvaluator(
  institutions: (id: string) => Promise<Institution | undefined>,
  format: 'csv' | 'json',
) {
  return async (m: InboundMessage) => {
    const institution = await institutions(m.institution);
    if (!institution) throw notFound(`Institution ${m.institution} is no longer registered`);
    return { failure: noMapping({ institution, transport: 'replay', raw: m.raw }, format, m.feed ?? '') };
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
