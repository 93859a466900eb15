#!/usr/bin/env node
// Runs one TypeScript file of the project without a build step:
//   node bin/run-ts.mjs <file.ts> [args…]
// tsx's ESM loader is registered in-process (module.register), so the file and everything it
// imports with explicit `.ts` extensions load as ES modules. The file resolves from the cwd.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import process from 'node:process';
import { register } from 'tsx/esm/api';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bin/run-ts.mjs <file.ts> [args…]\n');
  process.exit(2);
}
register();
const resolved = path.resolve(process.cwd(), file);
// The script sees itself as argv[1] and its own arguments after it, as if run directly.
process.argv = [process.argv[0] ?? 'node', resolved, ...rest];
await import(pathToFileURL(resolved).href);
