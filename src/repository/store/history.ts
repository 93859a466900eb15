import type { Queryable } from '../../db/database.ts';
import { badRequest } from '../../kernel/outcomes.ts';
import { etagFor } from './etag.ts';
import { STORED_COLUMNS, toStored } from './read.ts';
import type { StoredResource } from '../types.ts';

export interface HistoryRequest {
  resourceType?: string;
  id?: string;
  params: [string, string][];
  baseUrl: string;
  /** Absolute URL of this request without its query, for the `self`/`next` links. */
  requestUrl: string;
}

const MAX_COUNT = 1000;

/**
 * History (instance, type, system), newest first. Paging is by keyset (the last entry's
 * time, type, id and version) so a page link stays correct while others keep writing.
 */
export async function history(q: Queryable, req: HistoryRequest): Promise<string> {
  const get = (name: string) => req.params.find(([k]) => k === name)?.[1];
  const count = Math.min(parseCount(get('_count')), MAX_COUNT);
  const where: string[] = [];
  const args: unknown[] = [];
  const bind = (v: unknown) => `$${args.push(v)}`;
  if (req.resourceType) where.push(`resource_type = ${bind(req.resourceType)}`);
  if (req.id) where.push(`id = ${bind(req.id)}`);
  const since = get('_since');
  if (since) where.push(`last_updated >= ${bind(parseInstant(since, '_since'))}`);
  const cursor = get('_cursor');
  if (cursor) {
    const c = decodeCursor(cursor);
    where.push(
      `(last_updated, resource_type, id, version_id) < (${bind(c[0])}::timestamptz, ${bind(c[1])}, ${bind(c[2])}, ${bind(c[3])}::int)`,
    );
  }
  const { rows } = await q.query(
    `SELECT ${STORED_COLUMNS}, method FROM resource_history ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY last_updated DESC, resource_type DESC, id DESC, version_id DESC LIMIT ${count + 1}`,
    args,
  );
  const page = rows.slice(0, count);
  const entries = page.map((r) => historyEntry(toStored(r), r.method, req.baseUrl));
  const links = [`{"relation":"self","url":${JSON.stringify(linkUrl(req, undefined))}}`];
  const last = page[page.length - 1];
  if (rows.length > count && last) {
    const next = encodeCursor([
      last.last_updated.toISOString(),
      last.resource_type,
      last.id,
      last.version_id,
    ]);
    links.push(`{"relation":"next","url":${JSON.stringify(linkUrl(req, next))}}`);
  }
  return `{"resourceType":"Bundle","type":"history","link":[${links.join(',')}],"entry":[${entries.join(',')}]}`;
}

function historyEntry(s: StoredResource, method: string, baseUrl: string): string {
  const fullUrl = JSON.stringify(`${baseUrl}/${s.resourceType}/${s.id}`);
  const url = method === 'POST' ? s.resourceType : `${s.resourceType}/${s.id}`;
  const status = s.deleted ? '204' : method === 'POST' || s.versionId === 1 ? '201' : '200';
  const response = `{"status":"${status}","etag":${JSON.stringify(etagFor(s.versionId))},"lastModified":"${s.lastUpdated}"}`;
  const request = `{"method":"${method}","url":${JSON.stringify(url)}}`;
  const resource = s.json ? `,"resource":${s.json}` : '';
  return `{"fullUrl":${fullUrl}${resource},"request":${request},"response":${response}}`;
}

function linkUrl(req: HistoryRequest, cursor: string | undefined): string {
  const params = new URLSearchParams(req.params.filter(([k]) => k !== '_cursor'));
  if (cursor) params.set('_cursor', cursor);
  const qs = params.toString();
  return qs ? `${req.requestUrl}?${qs}` : req.requestUrl;
}

function parseCount(value: string | undefined): number {
  if (value === undefined) return 50;
  if (!/^\d+$/.test(value)) throw badRequest(`_count must be a whole number, got "${value}"`, '_count');
  return Number(value);
}

function parseInstant(value: string, name: string): string {
  const d = new Date(value);
  if (!/^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$/.test(value) || Number.isNaN(d.getTime())) {
    throw badRequest(`${name} must be an instant, got "${value}"`, name);
  }
  return d.toISOString();
}

function encodeCursor(key: [string, string, string, number]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(value: string): [string, string, string, number] {
  try {
    const key = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (
      Array.isArray(key) &&
      key.length === 4 &&
      typeof key[3] === 'number' &&
      !Number.isNaN(Date.parse(key[0]))
    ) {
      return key as [string, string, string, number];
    }
  } catch {
    // fall through to the 400 below
  }
  throw badRequest('The _cursor parameter is not one this server issued', '_cursor', 'HIE-REPO-040');
}
