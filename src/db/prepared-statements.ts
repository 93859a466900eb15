import { createHash } from 'node:crypto';
import type pg from 'pg';

/** Named statements one connection keeps at most; later new texts run unnamed (parsed each time). */
const MAX_PER_CONNECTION = 256;

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Marks a statement whose best plan depends on its values (a search: how selective an identifier
 * or a name is). It is sent unnamed, so PostgreSQL plans it for the values it carries every time;
 * a prepared statement may switch to a generic plan after five runs.
 */
export const PLAN_FOR_VALUES = '/* plan for values */ ';

/**
 * Makes a connection keep its parameterised statements prepared. The pipeline sends the same few
 * dozen statements for every message; unnamed, PostgreSQL parses, analyses and plans each one
 * every time — planning was ~45 % of the statements' time in a census of the ingest path. Named
 * after their text, each is parsed once per connection, and PostgreSQL keeps a generic plan for
 * it once that costs no more than planning for the values (`plan_cache_mode = auto`). Statements
 * marked `PLAN_FOR_VALUES` stay unnamed. The number kept per connection is bounded, since search
 * SQL is built per request shape.
 */
export function keepStatementsPrepared(client: pg.PoolClient | pg.Client): void {
  const named = new Set<string>();
  const query = client.query.bind(client) as QueryFn;
  const wrapped: QueryFn = (...args) => {
    const [text, values, callback] = args;
    if (typeof text !== 'string' || !Array.isArray(values) || text.startsWith(PLAN_FOR_VALUES))
      return query(...args);
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
