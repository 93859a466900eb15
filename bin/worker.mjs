#!/usr/bin/env node
// `npm run worker`: the ingestion worker on its own. It finds the embedded servers of a running
// `npm start` through $HIE_DATA_DIR/runtime.json unless DATABASE_URL and REDIS_URL are set.
import process from 'node:process';
import { URL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../src/app/main-worker.ts', import.meta.url).href);
await main(process.env);
