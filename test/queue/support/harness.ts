import type { Database } from '../../../src/db/database.ts';

/** Polls until `check` is true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function countByState(db: Database, institution: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM inbound_message WHERE institution = $1 GROUP BY state',
    [institution],
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/**
 * What the repository holds for an institution, counted in its own tables: live resources by
 * type, and distinct identifier values (a doubled write would show as more resources than values).
 */
export async function repositoryCounts(
  db: Database,
  institution: string,
): Promise<{
  patients: number;
  encounters: number;
  mrns: number;
  visits: number;
  provenances: number;
  versionsOver1: number;
}> {
  const q = async (sql: string, params: unknown[]) => (await db.query<{ n: number }>(sql, params)).rows[0]!.n;
  const live = (type: string) =>
    q(
      `SELECT count(*)::int AS n FROM resource WHERE resource_type = $1 AND NOT deleted
         AND content::jsonb -> 'meta' ->> 'source' LIKE $2`,
      [type, `%/institution/${institution}#%`],
    );
  const ids = (type: string, kind: string) =>
    q(
      `SELECT count(DISTINCT t.value)::int AS n FROM sp_token t WHERE t.resource_type = $1 AND t.code = 'identifier'
         AND t.system = $2`,
      [type, `https://county-hie.org/fhir/sid/${kind}/${institution}`],
    );
  return {
    patients: await live('Patient'),
    encounters: await live('Encounter'),
    provenances: await live('Provenance'),
    mrns: await ids('Patient', 'mrn'),
    visits: await ids('Encounter', 'visit'),
    versionsOver1: await q(
      `SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Patient' AND version_id > 1
         AND content::jsonb -> 'meta' ->> 'source' LIKE $1`,
      [`%/institution/${institution}#%`],
    ),
  };
}

/** PUT Organization/{id}: the agent of every Provenance and the Encounters' serviceProvider. */
export async function putOrganization(fhirUrl: string, token: string, id: string): Promise<void> {
  const res = await fetch(`${fhirUrl}/Organization/${id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Organization', id, name: id }),
  });
  if (!res.ok) throw new Error(`PUT Organization/${id}: ${res.status} ${await res.text()}`);
}

/** Removes every key under a test's BullMQ prefix (never anything else: the Redis may be shared). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export function testPrefix(name: string): string {
  return `hie-test-${name}-${process.pid}-${Date.now().toString(36)}`;
}
