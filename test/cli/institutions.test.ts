import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeRuntimeFile } from '../../src/app/runtime-file.ts';
import { tokenEndpoint } from '../../src/auth/backend-services/token-endpoint.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { institutionsCommand } from '../../src/cli/institutions-command.ts';
import { uploadCommand } from '../../src/cli/upload-command.ts';
import { PostgresInstitutionRegistry } from '../../src/institutions/postgres-registry.ts';
import { DEFAULT_REGISTRY_FILE } from '../../src/institutions/seed.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/** Captures what a command writes, as main() would pass it to stdout and stderr. */
function capture() {
  const io = {
    stdout: '',
    stderr: '',
    out: (s: string) => void (io.stdout += s),
    err: (s: string) => void (io.stderr += s),
  };
  return io;
}

const TIERS = [
  'county-hospital',
  'township-health-centre',
  'community-health-centre',
  'village-clinic',
  'shared-centre',
];
const CONTRACT_KEYS = ['id', 'name', 'tier', 'partOf', 'facilityCodes', 'formats', 'timezone', 'charset'];

describe.each(inject('pgServers'))('hie institutions and hie upload on $name', (server) => {
  let t: TestDatabase;
  let dataDir: string;
  let env: Record<string, string>;
  const run = async (args: string[]) => {
    const io = capture();
    const code = await institutionsCommand(args, io, env);
    return { code, ...io };
  };

  beforeAll(async () => {
    // Migrations are left to the command: it must work on a database nobody started the system on.
    t = await createTestDatabase(server, { migrate: false });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-institutions-'));
    env = { DATABASE_URL: t.url, HIE_DATA_DIR: dataDir, PORT: '9999', HIE_LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await t?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('--json prints only the CONTRACTS array', async () => {
    const { code, stdout } = await run(['--json']);
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as Record<string, any>[];
    // The shipped registry, in file order.
    expect(list.map((e) => e.id)).toEqual(
      (JSON.parse(readFileSync(DEFAULT_REGISTRY_FILE, 'utf8')) as { id: string }[]).map((e) => e.id),
    );
    expect(list.map((e) => e.id).slice(0, 5)).toEqual([
      'county-peoples-hospital',
      'county-shared-lab',
      'qiaotou-township-health-centre',
      'dongcun-village-clinic',
      'chengguan-community-health-centre',
    ]);
    for (const e of list) {
      expect(Object.keys(e).every((k) => CONTRACT_KEYS.includes(k))).toBe(true);
      expect(e.id).toMatch(/^[a-z0-9-]{2,40}$/);
      expect(typeof e.name.zh).toBe('string');
      expect(typeof e.name.en).toBe('string');
      expect(TIERS).toContain(e.tier);
      expect(e.timezone).toMatch(/^[+-]\d\d:\d\d$/);
      for (const f of e.formats) expect(f).toMatch(/^(hl7v2-mllp|hl7v2-http|fhir|(csv|json):[a-z0-9-]+)$/);
      if (e.partOf !== undefined) expect(list.map((x) => x.id)).toContain(e.partOf);
    }
    expect(list[3]).toEqual({
      id: 'dongcun-village-clinic',
      name: { zh: '东村村卫生室', en: 'Dongcun Village Clinic' },
      tier: 'village-clinic',
      partOf: 'qiaotou-township-health-centre',
      facilityCodes: ['DCVC'],
      formats: ['csv:village-visits', 'csv:village-referrals'],
      timezone: '+08:00',
      charset: 'GB18030',
    });
  });

  it('prints a table without --json', async () => {
    const { code, stdout } = await run([]);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^ID\s+TIER\s+NAME/);
    expect(stdout).toContain("县人民医院 / County People's Hospital");
  });

  it('adds from a file, disables, and lists disabled ones only with --all', async () => {
    const file = path.join(dataDir, 'new.json');
    await writeFile(
      file,
      JSON.stringify({
        id: 'xishan-village-clinic',
        name: { zh: '西山村卫生室', en: 'Xishan Village Clinic' },
        tier: 'village-clinic',
        partOf: 'qiaotou-township-health-centre',
        facilityCodes: ['XSVC'],
        formats: ['csv:village-visits'],
        timezone: '+08:00',
        charset: 'GB18030',
      }),
    );
    const added = await run(['add', file]);
    expect(added.code).toBe(0);
    expect(added.stdout).toBe('registered: xishan-village-clinic\n');
    // A second add of the same id is refused (main() prints the CliError and exits 1).
    await expect(run(['add', file])).rejects.toThrow('[0].id: "xishan-village-clinic" is already registered');
    const disabled = await run(['disable', 'xishan-village-clinic', '--json']);
    expect(JSON.parse(disabled.stdout)).toEqual({ id: 'xishan-village-clinic', active: false });
    const active = JSON.parse((await run(['--json'])).stdout) as { id: string }[];
    expect(active.map((e) => e.id)).not.toContain('xishan-village-clinic');
    const all = JSON.parse((await run(['--json', '--all'])).stdout) as { id: string; active: boolean }[];
    expect(all.find((e) => e.id === 'xishan-village-clinic')?.active).toBe(false);
    // The Organization follows the registry.
    const { rows } = await t.db.query(
      "SELECT content::jsonb->>'active' AS active FROM resource WHERE resource_type = 'Organization' AND id = 'xishan-village-clinic'",
    );
    expect(rows).toEqual([{ active: 'false' }]);
  });

  it('rotate-key --json reports the key and leaves a 0600 PEM in the data folder', async () => {
    const { code, stdout } = await run(['rotate-key', 'county-peoples-hospital', '--json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as {
      kid: string;
      alg: string;
      keyFile: string;
      publicJwk: Record<string, unknown>;
    };
    expect(out.alg).toBe('ES384');
    expect(out.keyFile).toBe(path.join(dataDir, 'keys', 'institutions', 'county-peoples-hospital.pem'));
    expect((await stat(out.keyFile)).mode & 0o777).toBe(0o600);
    expect(out.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-384', kid: out.kid });
  });

  describe('hie upload', () => {
    let http: Server;
    let base: string;
    const received: {
      path: string;
      contentType: string | undefined;
      institution: string | undefined;
      body: string;
    }[] = [];

    beforeAll(async () => {
      const signingKey = await loadOrCreateSigningKey(dataDir);
      const app = express();
      http = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const verifier = createTokenVerifier({ publicUrl: base, signingKey, trustedIssuers: [] });
      app.use(
        tokenEndpoint({
          db: t.db,
          registry: new PostgresInstitutionRegistry(t.db),
          signingKey,
          publicUrl: base,
          logger: silentLogger(),
        }),
      );
      // A stand-in for the ingestion gateway: it checks the token as the real one will.
      app.post('/ingest/{*rest}', express.text({ type: () => true }), async (req, res) => {
        const auth = await verifier.verify((req.headers.authorization ?? '').replace(/^Bearer /, ''));
        received.push({
          path: req.path,
          contentType: req.headers['content-type'],
          institution: auth.institution,
          body: req.body as string,
        });
        if (req.path === '/ingest/hl7v2') {
          res
            .status(200)
            .set('Location', '/ingest/messages/m1')
            .type('application/hl7-v2')
            .send('MSH|^~\\&|HIE\rMSA|AA|1\r');
        } else {
          res
            .status(202)
            .set('Location', '/ingest/messages/m2')
            .json({ resourceType: 'OperationOutcome', issue: [] });
        }
      });
      // The running system as the launcher records it: upload takes its public URL from here.
      await writeRuntimeFile(dataDir, {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        publicUrl: base,
        fhirUrl: `${base}/fhir`,
        port: 0,
        mllpPort: 0,
        databaseUrl: t.url,
        redisUrl: 'redis://127.0.0.1:1',
        demoIssuer: true,
        postgres: null,
        redis: null,
      });
    });
    afterAll(async () => {
      http?.closeAllConnections();
      await new Promise((r) => http?.close(r));
    });

    const upload = async (args: string[]) => {
      const io = capture();
      const code = await uploadCommand(args, io, env);
      return { code, ...io };
    };

    it('sends HL7 v2 to /ingest/hl7v2 as the institution and prints status, Location and ACK', async () => {
      const file = path.join(dataDir, 'adt.hl7');
      await writeFile(file, 'MSH|^~\\&|HIS|CPH|HIE|COUNTY|20240101120000||ADT^A01|1|P|2.5\r');
      const { code, stdout } = await upload(['--institution', 'county-peoples-hospital', file]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^HTTP 200\nLocation: \/ingest\/messages\/m1\n/);
      expect(stdout).toContain('MSA|AA|1');
      expect(received.at(-1)).toMatchObject({
        path: '/ingest/hl7v2',
        contentType: 'application/hl7-v2',
        institution: 'county-peoples-hospital',
      });
      expect(received.at(-1)?.body).toContain('ADT^A01');
    });

    it('routes JSON by content and CSV by feed; --json prints only JSON', async () => {
      const bundle = path.join(dataDir, 'bundle.json');
      await writeFile(bundle, JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [] }));
      const fhir = await upload(['--institution', 'county-peoples-hospital', '--json', bundle]);
      expect(fhir.code).toBe(0);
      expect(JSON.parse(fhir.stdout)).toEqual({
        status: 202,
        location: '/ingest/messages/m2',
        body: { resourceType: 'OperationOutcome', issue: [] },
      });
      expect(received.at(-1)).toMatchObject({ path: '/ingest/fhir', contentType: 'application/fhir+json' });

      const csv = path.join(dataDir, 'visits.csv');
      await writeFile(csv, 'mrn,name\n1,王秀英\n');
      expect(
        (await upload(['--institution', 'county-peoples-hospital', '--feed', 'village-visits', csv])).code,
      ).toBe(0);
      // A UTF-8 file says so: the gateway would otherwise read it in the institution's registered charset.
      expect(received.at(-1)).toMatchObject({
        path: '/ingest/csv/village-visits',
        contentType: 'text/csv; charset=utf-8',
      });
      await expect(upload(['--institution', 'county-peoples-hospital', csv])).rejects.toThrow('needs --feed');
    });

    it('fails clearly without a key, or when the token endpoint refuses', async () => {
      const file = path.join(dataDir, 'adt.hl7');
      await expect(upload(['--institution', 'county-shared-lab', file])).rejects.toThrow(
        'rotate-key county-shared-lab',
      );
      // No key because there is no such institution: that is what it says.
      await expect(upload(['--institution', 'county-shared-lob', file])).rejects.toThrow(
        /no institution "county-shared-lob" in the registry; known: .*county-shared-lab/,
      );
      // A key file that is not the registered one: the endpoint refuses and upload says so.
      const stray = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
        format: 'pem',
        type: 'pkcs8',
      }) as string;
      await writeFile(path.join(dataDir, 'keys', 'institutions', 'county-shared-lab.pem'), stray, {
        mode: 0o600,
      });
      await expect(upload(['--institution', 'county-shared-lab', file])).rejects.toThrow(
        /refused a token .*invalid_client/,
      );
    });
  });
});
