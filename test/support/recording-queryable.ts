import type pg from 'pg';
import type { Queryable } from '../../src/db/database.ts';

/**
 * A recorder in front of a real connection: the code under test runs its SQL for real, and each
 * statement it sent (text and values) can then be EXPLAINed on the same connection.
 */
export function recordingQueryable(client: () => pg.PoolClient): {
  db: Queryable;
  statements: { text: string; values: unknown[] }[];
} {
  const statements: { text: string; values: unknown[] }[] = [];
  const db: Queryable = {
    query: (text: string, values?: unknown[]) => {
      statements.push({ text, values: values ?? [] });
      return client().query(text, values as unknown[]);
    },
  };
  return { db, statements };
}
