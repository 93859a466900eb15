import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database } from '../db/database.ts';
import { dependencyOrder } from './dependency-order.ts';
import { readInstitutions, REGISTRY_LOCK } from './institution-rows.ts';
import { checkRegistry, InstitutionValidationError, validateEntries } from './validate-entry.ts';

/** The seed shipped with the project. */
export const DEFAULT_REGISTRY_FILE = fileURLToPath(
  new URL('../../registry/institutions.json', import.meta.url),
);

export interface SeedResult {
  inserted: string[];
  /** Already in the table: the table wins, whatever the file now says. */
  present: string[];
  /** New in the file but clashing with what operators registered (a facility code, a parent). */
  skipped: { id: string; reason: string }[];
}

/**
 * Inserts the file's entries whose ids are not in the table yet; never updates a row, so what
 * operators changed (disabled, renamed, new keys) survives every restart. A malformed file
 * throws (it ships with the code, so it is a bug); an entry that clashes with the operators'
 * registrations is skipped and reported, so a start-up is not blocked by it.
 */
export async function seedInstitutions(
  db: Database,
  file: string = DEFAULT_REGISTRY_FILE,
): Promise<SeedResult> {
  let content: unknown;
  try {
    content = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InstitutionValidationError([`${file}: ${(err as Error).message}`]);
  }
  if (!Array.isArray(content)) throw new InstitutionValidationError([`${file}: expected a JSON array`]);
  let entries;
  try {
    entries = validateEntries(content);
  } catch (err) {
    if (err instanceof InstitutionValidationError)
      throw new InstitutionValidationError(err.problems.map((p) => `${file}${p}`));
    throw err;
  }

  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_LOCK]);
    const existing = (await readInstitutions(tx)).map((i) => ({ ...i }));
    const present = new Set(existing.map((i) => i.id));
    const result: SeedResult = { inserted: [], present: [], skipped: [] };
    const accepted = [...existing];
    // Parents first, one at a time, so each entry is checked against those accepted before it.
    for (const entry of dependencyOrder(entries)) {
      const i = entries.indexOf(entry);
      if (present.has(entry.id)) {
        result.present.push(entry.id);
        continue;
      }
      const problems = checkRegistry([{ entry, where: `[${i}]` }], accepted);
      if (problems.length > 0) {
        result.skipped.push({ id: entry.id, reason: problems.join('; ') });
        continue;
      }
      await tx.query('INSERT INTO institution (id, entry) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
        entry.id,
        JSON.stringify(entry),
      ]);
      accepted.push({ ...entry, active: true, publicKeys: [], mllpAllowFrom: [] });
      result.inserted.push(entry.id);
    }
    return result;
  });
}
