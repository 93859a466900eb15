import { readFile } from 'node:fs/promises';
import { Database } from '../db/database.ts';
import { readInstitutions } from '../institutions/institution-rows.ts';
import { DEFAULT_REGISTRY_FILE } from '../institutions/seed.ts';
import { CliError } from './cli-errors.ts';

/**
 * Refuses an institution id the registry does not hold, before a token is signed for it: a
 * mistyped id would otherwise give a token every route then refuses, far from the typo. The
 * registry table (of the running system, or DATABASE_URL) is authoritative; with no database to
 * ask (nothing started yet), the seed file shipped in registry/ stands in for it.
 */
export async function assertKnownInstitution(id: string, databaseUrl: string | undefined): Promise<void> {
  const { ids, source } = await knownInstitutionIds(databaseUrl);
  if (ids.includes(id)) return;
  throw new CliError(`no institution "${id}" in ${source}; known: ${ids.join(', ')}`);
}

async function knownInstitutionIds(
  databaseUrl: string | undefined,
): Promise<{ ids: string[]; source: string }> {
  if (databaseUrl) {
    const db = new Database(databaseUrl, { max: 1, applicationName: 'county-hie-cli' });
    try {
      return { ids: (await readInstitutions(db)).map((i) => i.id), source: 'the registry' };
    } catch {
      // Not migrated yet, or not reachable: the seed file is what a start would put there.
    } finally {
      await db.close();
    }
  }
  const seed = JSON.parse(await readFile(DEFAULT_REGISTRY_FILE, 'utf8')) as { id?: unknown }[];
  const ids = seed.map((e) => e.id).filter((v): v is string => typeof v === 'string');
  return { ids, source: 'registry/institutions.json (no database to ask)' };
}
