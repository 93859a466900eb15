import { createHash } from 'node:crypto';
import { uuidv7 } from '../kernel/ids.ts';
import { issue, outcome } from '../kernel/outcomes.ts';
import { archiveAndEnqueue } from './archive.ts';
import type { FhirStageParts } from './fhir-stage.ts';
import type { Submission, Verdict } from './types.ts';

/**
 * CSV and JSON feeds. Their mapping files come with the mapping issue; until a mapping exists
 * for an institution's feed, the body is still archived (nothing is lost), as `failed` with a
 * reason that says so, and can be replayed once the mapping is in place.
 */
export async function acceptFeed(
  parts: FhirStageParts,
  sub: Submission,
  format: 'csv' | 'json',
): Promise<Verdict> {
  const feed = sub.feed ?? '';
  const declared = sub.institution.formats.includes(`${format}:${feed}`);
  const reason = declared
    ? `No mapping is installed for ${format} feed "${feed}" of ${sub.institution.id}; the message is kept and can be replayed once one is`
    : `${sub.institution.id} has no ${format} feed "${feed}" in the registry (formats: ${sub.institution.formats.join(', ')})`;
  const failure = outcome(
    issue({
      severity: 'error',
      code: declared ? 'not-supported' : 'invalid',
      diagnostics: reason,
      hieCode: declared ? 'HIE-INGEST-010' : 'HIE-INGEST-011',
    }),
  );
  const { message, resend } = await archiveAndEnqueue(parts, {
    id: uuidv7(),
    institution: sub.institution.id,
    format,
    feed,
    transport: sub.transport,
    type: `${format}:${feed}`,
    controlId: createHash('sha256').update(sub.raw).digest('hex'),
    raw: sub.raw,
    ...(sub.contentTypeCharset ? { charset: sub.contentTypeCharset } : {}),
    state: 'failed',
    outcome: failure,
  });
  return { message, resend, accepted: false, outcome: message.outcome ?? failure, format };
}
