import type { Queryable } from '../../db/database.ts';
import type { ArchiveCounts } from '../send/wait.ts';

/** Where the archive stands for a load's institutions; `since` bounds the failures counted (ISO). */
export type CountArchive = (institutions: readonly string[], since: string) => Promise<ArchiveCounts>;

/**
 * The archive counts straight from PostgreSQL, for the loader that runs inside `npm start`.
 * `hie demo send` has only the HTTP API and pages through `GET /ingest/messages` for them; done
 * twice a second for every institution while the worker drains, that paging (and the rows it
 * decodes) took CPU from the worker it was waiting for. One counting query answers the same.
 */
export function sqlArchiveCounts(db: Queryable): CountArchive {
  return async (institutions, since) => {
    const { rows } = await db.query<{ queued: string; failed: string }>(
      // Each count reads through the (state, id) index: only the few queued or failed rows, never
      // the stored ones, which are nearly all of the archive by the end of the load.
      `SELECT (SELECT count(*) FROM inbound_message
                WHERE state = 'queued' AND institution = ANY($1)) AS queued,
              (SELECT count(*) FROM inbound_message
                WHERE state = 'failed' AND institution = ANY($1) AND received_at >= $2) AS failed`,
      [institutions, new Date(since)],
    );
    return { queued: Number(rows[0]?.queued ?? 0), failed: Number(rows[0]?.failed ?? 0) };
  };
}
