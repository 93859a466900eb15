import pg from 'pg';
import type { Logger } from '../kernel/logger.ts';
import { keepStatementsPrepared } from './prepared-statements.ts';

/** Anything that runs SQL: the pool, or one client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * The PostgreSQL pool and the one way to run a transaction.
 * Every statement in the project is parameterised; nothing builds SQL from request text.
 */
export class Database implements Queryable {
  readonly pool: pg.Pool;

  constructor(
    connectionString: string,
    opts: { max?: number; logger?: Logger; applicationName?: string } = {},
  ) {
    this.pool = new pg.Pool({
      connectionString,
      max: opts.max ?? 16,
      application_name: opts.applicationName ?? 'county-hie',
      // A PostgreSQL that is down refuses at once (ECONNREFUSED → 503). This bound is for a server
      // that hangs — and it also bounds the wait for a free pooled connection, so it must be long
      // enough that a burst of requests queues instead of being answered 503 (seen at 5 s under load).
      connectionTimeoutMillis: 30_000,
    });
    this.pool.on('connect', (client) => keepStatementsPrepared(client));
    // An idle client that loses its server must not crash the process; the pool replaces it.
    this.pool.on('error', (err) => opts.logger?.warn({ err: err.message }, 'idle PostgreSQL client error'));
  }

  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, params as any[]);
  }

  /** Runs `fn` in one transaction; rolls back on any throw. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client whose server goes away emits 'error'; unheard, that would crash the
    // process ("Connection terminated unexpectedly"). Heard here, the client is discarded below.
    let lost: Error | undefined;
    const onError = (err: Error) => (lost = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(lost);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** True for errors that mean "the database is not reachable right now" (answer 503, retry later). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e) return false;
  if (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      '57P01',
      '57P02',
      '57P03',
      '08006',
      '08001',
      '08003',
    ].includes(e.code ?? '')
  ) {
    return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e.message ?? '',
  );
}
