import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Public test data written by others lives beside the project in `../shared/fixtures` and is
 * never committed. A user's clone has no such folder: tests that need it skip with a note.
 * `HIE_SHARED_FIXTURES` points elsewhere.
 */
const root =
  process.env.HIE_SHARED_FIXTURES ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');

/** Absolute path of a fixture folder or file, or undefined (with a note on stderr) when absent. */
export function sharedFixture(relative: string): string | undefined {
  const full = path.join(root, relative);
  if (existsSync(full)) return full;
  console.warn(
    `[test] skipped: shared fixture ${relative} not found under ${root} (set HIE_SHARED_FIXTURES)`,
  );
  return undefined;
}
