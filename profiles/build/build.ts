/**
 * Writes the region's profiles (with snapshots), extensions, CodeSystems and ValueSets as the
 * JSON the server loads. Run after editing a differential:
 *   node bin/run-ts.mjs profiles/build/build.ts
 * test/validate/shipped-profiles.test.ts fails when the committed JSON differs from a rebuild.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { regionDefinitions } from './definitions.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const { folder, file, resource } of regionDefinitions()) {
  mkdirSync(path.join(root, folder), { recursive: true });
  writeFileSync(path.join(root, folder, file), `${JSON.stringify(resource, null, 2)}\n`);
}
