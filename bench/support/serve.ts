/**
 * The server under test, in a process of its own so that its memory and CPU are its own.
 * Composed like `test/support/test-app.ts`: migrate, signing key in a temp data dir, buildApp,
 * listen on a free loopback port. Prints one JSON line on stdout: { url, fhirUrl, token, pid }.
 * Env: DATABASE_URL (required). SIGTERM or SIGINT closes it and deletes the temp dir.
 */
import express from 'express';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app/build-app.ts';
import { adminClaims, issueToken } from '../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/kernel/logger.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('serve.ts needs DATABASE_URL');

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-bench-serve-'));
const port = await freePort();
const config = loadConfig({ PORT: String(port), HIE_DATA_DIR: dataDir, DATABASE_URL: databaseUrl });
// Errors only: a log line per request would be part of what is measured.
const logger = createLogger(process.env.HIE_LOG_LEVEL === undefined ? 'error' : config.logLevel);
const db = new Database(databaseUrl, { logger, applicationName: 'county-hie-bench' });
await migrate(db);
const signingKey = await loadOrCreateSigningKey(dataDir);
const verifier = createTokenVerifier({ publicUrl: config.publicUrl, signingKey, trustedIssuers: [] });
const { app } = buildApp({ config, logger, db, signingKey, verifier, version: 'bench' });

// Bench-only route in front of the app (never part of the product): this process's own usage.
const outer = express();
outer.get('/__bench/usage', (_req, res) => {
  const u = process.resourceUsage();
  res.json({
    maxRssKb: u.maxRSS,
    rssBytes: process.memoryUsage().rss,
    cpuUserUs: u.userCPUTime,
    cpuSystemUs: u.systemCPUTime,
  });
});
outer.use(app);

const server = outer.listen(port, '127.0.0.1', async () => {
  const token = await issueToken(signingKey, adminClaims(config.publicUrl), 24 * 3600);
  process.stdout.write(
    JSON.stringify({ url: config.publicUrl, fhirUrl: `${config.publicUrl}/fhir`, token, pid: process.pid }) +
      '\n',
  );
});

const close = async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await db.close().catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGTERM', close);
process.once('SIGINT', close);

/** A port nobody listens on right now; publicUrl (token audience) must be known before listening. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as net.AddressInfo;
      s.close(() => resolve(p));
    });
  });
}
