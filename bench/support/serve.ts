/**
 * The server under test, in a process of its own so that its memory and CPU are its own.
 * Composed like `test/support/test-app.ts`: migrate, signing key in a temp data dir, buildApp,
 * listen on a free loopback port. Prints one JSON line on stdout: { url, fhirUrl, token, pid }.
 * Env: DATABASE_URL (required); BENCH_INSTITUTION (optional): the token is then a CLINICIAN's of
 * that institution, signed the way `hie token clinician --institution <id>` does, after the
 * Organizations and the practitioner directory are projected as `npm start` projects them — so
 * the access policy runs as in service. SIGTERM or SIGINT closes it and deletes the temp dir.
 */
import express from 'express';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app/build-app.ts';
import { adminClaims, clinicianClaims, issueToken } from '../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { clinicianPractitioner } from '../../src/cli/token-command.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { projectOrganizations } from '../../src/institutions/organizations.ts';
import { PostgresInstitutionRegistry } from '../../src/institutions/postgres-registry.ts';
import { projectPractitioners } from '../../src/institutions/practitioner-resources.ts';
import { loadPractitioners } from '../../src/institutions/practitioners.ts';
import { createLogger } from '../../src/kernel/logger.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('serve.ts needs DATABASE_URL');
const institution = process.env.BENCH_INSTITUTION;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-bench-serve-'));
const port = await freePort();
const config = loadConfig({
  PORT: String(port),
  HIE_DATA_DIR: dataDir,
  DATABASE_URL: databaseUrl,
  // A bench may run the server without kept summaries (the cost of a first request).
  ...(process.env.HIE_SUMMARY_CACHE_SECONDS
    ? { HIE_SUMMARY_CACHE_SECONDS: process.env.HIE_SUMMARY_CACHE_SECONDS }
    : {}),
});
// Errors only: a log line per request would be part of what is measured.
const logger = createLogger(process.env.HIE_LOG_LEVEL === undefined ? 'error' : config.logLevel);
const db = new Database(databaseUrl, { logger, applicationName: 'county-hie-bench' });
await migrate(db);
const signingKey = await loadOrCreateSigningKey(dataDir);
const verifier = createTokenVerifier({ publicUrl: config.publicUrl, signingKey, trustedIssuers: [] });
const { app, repo, audit } = buildApp({ config, logger, db, signingKey, verifier, version: 'bench' });
if (institution) {
  const registry = new PostgresInstitutionRegistry(db);
  await projectOrganizations(registry, repo, config.canonicalBase);
  await projectPractitioners(registry, repo, config.canonicalBase);
}

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
  const claims = institution
    ? clinicianClaims(
        config.publicUrl,
        institution,
        clinicianPractitioner(await loadPractitioners(), institution, undefined),
      )
    : adminClaims(config.publicUrl);
  const token = await issueToken(signingKey, claims, 24 * 3600);
  process.stdout.write(
    JSON.stringify({ url: config.publicUrl, fhirUrl: `${config.publicUrl}/fhir`, token, pid: process.pid }) +
      '\n',
  );
});

const close = async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  // The audit trail writes its last events and chain head before the pool goes.
  await audit.close().catch(() => undefined);
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
