import { createHash } from 'node:crypto';
import type pg from 'pg';

/** Named statements one connection keeps at most; later new texts run unnamed (parsed each time). */
const MAX_PER_CONNECTION = 256;

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Makes a connection keep its parameterised statements prepared. The pipeline sends the same few
 * dozen statements for every message; unnamed, PostgreSQL parses and analyses each one every
 * time. Named after their text, each is parsed once per connection and then only bound and
 * executed. The number kept per connection is bounded, since search SQL is built per request
 * shape. The pool sets `plan_cache_mode = force_custom_plan` for its sessions (database.ts).
 */
export function keepStatementsPrepared(client: pg.PoolClient | pg.Client): void {
  const named = new Set<string>();
  const query = client.query.bind(client) as QueryFn;
  const wrapped: QueryFn = (...args) => {
    const [text, values, callback] = args;
    if (typeof text !== 'string' || !Array.isArray(values)) return query(...args);
    const name = nameOf(text);
    if (!named.has(name)) {
      if (named.size >= MAX_PER_CONNECTION) return query(...args);
      named.add(name);
    }
    const config = { text, values, name };
    return callback === undefined ? query(config) : query(config, callback);
  };
  (client as unknown as { query: QueryFn }).query = wrapped;
}

const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `hie_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (names.size < 4096) names.set(text, name);
  }
  return name;
}
