import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { requestInstitutionToken, TokenRequestError } from '../auth/backend-services/request-token.ts';
import { readInstitutionKey } from '../institutions/institution-keys.ts';
import { INSTITUTION_ID, parseCommandArgs, requireMatch } from './args.ts';
import { CliError, UsageError, type CliIo } from './cli-errors.ts';
import { cliSettings } from './institutions-command.ts';
import { assertKnownInstitution } from './known-institutions.ts';

export const UPLOAD_USAGE = `hie upload --institution <id> [--feed <name>] [--json] <file>
  sends a file as the institution, signed with its key from $HIE_DATA_DIR/keys/institutions:
  .hl7/.txt → /ingest/hl7v2; .json → /ingest/fhir (a FHIR resource or Bundle) or /ingest/json/<feed>;
  .csv → /ingest/csv/<feed> (--feed names the feed). Exit 0 when accepted (HL7: every ACK is AA).`;

const OPTIONS = {
  institution: { type: 'string' },
  feed: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const FEED = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Where a file goes and as what, decided by its extension (and, for JSON, its content). */
export function uploadTarget(
  file: string,
  content: Buffer,
  feed: string | undefined,
): { path: string; contentType: string } {
  const ext = path.extname(file).toLowerCase();
  const needFeed = (kind: string) => {
    if (feed === undefined)
      throw new UsageError(`a ${kind} file needs --feed <name> (the institution's ${kind}:<feed> format)`);
    if (!FEED.test(feed)) throw new CliError(`--feed "${feed}" must match ${FEED.source}`);
    return feed;
  };
  if (ext === '.hl7' || ext === '.txt') return { path: '/ingest/hl7v2', contentType: 'application/hl7-v2' };
  if (ext === '.csv') return { path: `/ingest/csv/${needFeed('csv')}`, contentType: 'text/csv' };
  if (ext === '.json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(content.toString('utf8'));
    } catch (err) {
      throw new CliError(`${file} is not JSON: ${(err as Error).message}`);
    }
    const isFhir = typeof (parsed as { resourceType?: unknown } | null)?.resourceType === 'string';
    // A FHIR resource goes to /ingest/fhir unless a feed is named explicitly.
    if (isFhir && feed === undefined) return { path: '/ingest/fhir', contentType: 'application/fhir+json' };
    return { path: `/ingest/json/${needFeed('json')}`, contentType: 'application/json' };
  }
  throw new UsageError(`cannot tell how to send "${ext || file}": use .hl7, .txt, .json or .csv`);
}

/** `hie upload`: a backend-services token for the institution, then one POST of the file. */
export async function uploadCommand(
  args: string[],
  io: CliIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (positionals.length !== 1) throw new UsageError('hie upload takes one file');
  const file = positionals[0] as string;
  const id = requireMatch(values.institution, INSTITUTION_ID, '--institution');
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const target = uploadTarget(file, content, values.feed);
  const { publicUrl, dataDir, databaseUrl } = await cliSettings(env, io);
  const key = await readInstitutionKey(dataDir, id);
  // No key may mean no such institution: say that, rather than suggest rotating its key.
  if (!key) await assertKnownInstitution(id, databaseUrl);
  if (!key)
    throw new CliError(
      `no key for ${id} in ${dataDir}/keys/institutions: run \`hie institutions rotate-key ${id}\` first`,
    );

  const token = await requestToken(publicUrl, id, key.privateKeyPem);
  const res = await send(`${publicUrl}${target.path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': withCharset(target.contentType, content) },
    body: content,
  });
  const text = await res.text();
  const location = res.headers.get('location');
  const ok = res.ok && (target.path !== '/ingest/hl7v2' || allAccepted(text));
  if (values.json) {
    let body: unknown = text;
    // A JSON answer is embedded as JSON; anything else (an ACK, a proxy's error page) as text.
    if (/json/.test(res.headers.get('content-type') ?? '')) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    io.out(JSON.stringify({ status: res.status, location, body }) + '\n');
  } else {
    io.out(
      `HTTP ${res.status}${location ? `\nLocation: ${location}` : ''}\n\n${text.replace(/\r/g, '\n').trimEnd()}\n`,
    );
  }
  return ok ? 0 : 1;
}

/** SMART Backend Services: client credentials with a freshly signed assertion (as the demo sender). */
async function requestToken(publicUrl: string, clientId: string, privateKeyPem: string): Promise<string> {
  try {
    return (await requestInstitutionToken(publicUrl, clientId, privateKeyPem)).accessToken;
  } catch (err) {
    if (err instanceof TokenRequestError) {
      const hint = err.message.includes('does not answer') ? '; is the system running?' : '';
      throw new CliError(err.message + hint);
    }
    throw err;
  }
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new CliError(`${url} does not answer (${(err as Error).message}); is the system running?`);
  }
}

/** Every MSA-1 of the ACKs is AA or CA (one ACK per message, CONTRACTS "Inbound answers"). */
function allAccepted(acks: string): boolean {
  const codes = [...acks.matchAll(/(?:^|[\r\n])MSA\|([A-Z]{2})/g)].map((m) => m[1]);
  return codes.length > 0 && codes.every((c) => c === 'AA' || c === 'CA');
}

/**
 * A CSV or JSON file that is valid UTF-8 with non-ASCII text is sent as `charset=utf-8`: the
 * gateway would otherwise decode it with the institution's registered charset (a village clinic's
 * GB 18030). Other bytes go without a charset, and the registered one applies. HL7 v2 names its
 * own charset in MSH-18.
 */
function withCharset(contentType: string, content: Buffer): string {
  if (contentType === 'application/hl7-v2' || contentType === 'application/fhir+json') return contentType;
  const nonAscii = content.some((b) => b > 0x7f);
  if (!nonAscii) return contentType;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(content);
    return `${contentType}; charset=utf-8`;
  } catch {
    return contentType;
  }
}
