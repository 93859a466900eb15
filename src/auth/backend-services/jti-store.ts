import type { Queryable } from '../../db/database.ts';

/**
 * Remembers each assertion's `jti` per client until the assertion expires: a second use while
 * it is still valid is a replay. Expired rows are purged at most once a minute (by whichever
 * request comes along), and an expired row may be reused, so nothing grows without bound.
 */
export function createJtiStore(db: Queryable): {
  firstUse(clientId: string, jti: string, exp: number): Promise<boolean>;
} {
  let lastPurge = 0;
  return {
    async firstUse(clientId, jti, exp) {
      if (Date.now() - lastPurge > 60_000) {
        lastPurge = Date.now();
        await db.query('DELETE FROM oauth_assertion_jti WHERE expires_at < now()');
      }
      // One statement decides, so two requests racing with the same jti cannot both win.
      const { rowCount } = await db.query(
        `INSERT INTO oauth_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, to_timestamp($3))
         ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
           WHERE oauth_assertion_jti.expires_at < now()`,
        [clientId, jti, exp],
      );
      return rowCount === 1;
    },
  };
}
