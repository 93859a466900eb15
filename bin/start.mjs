#!/usr/bin/env node
// `npm start`: the gateway, the FHIR repository and (unless configured otherwise) the embedded
// PostgreSQL and Redis. Source paths resolve from this file so the cwd does not matter.
import process from 'node:process';
import { URL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../src/app/main-start.ts', import.meta.url).href);
await main(process.env);
