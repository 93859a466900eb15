#!/usr/bin/env node
// The `hie` command (package.json "bin"): `npx hie …` from anywhere inside the project.
import process from 'node:process';
import { URL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
