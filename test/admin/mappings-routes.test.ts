import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import path from 'node:path';
import express from 'express';
import iconv from 'iconv-lite';
import type { Bundle } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mappingsRoutes } from '../../src/admin/mappings-routes.ts';
import { errorHandler } from '../../src/app/http/error-handler.ts';
import type { Role } from '../../src/auth/issue-token.ts';
import type { AuthContext } from '../../src/auth/verify-token.ts';
import type { Institution, InstitutionEntry } from '../../src/institutions/types.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { createLiveMappings, type LiveMappings } from '../../src/mapping/live/index.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { freePort } from '../support/free-port.ts';
import { copyMappings, SAMPLES } from '../mapping/live/mappings-copy.ts';

const REGISTRY = path.resolve(import.meta.dirname, '../../registry/institutions.json');

/** The registry file's institutions, as the app's registry would return them. */
const institutions: Institution[] = (JSON.parse(readFileSync(REGISTRY, 'utf8')) as InstitutionEntry[]).map(
  (e) => ({ ...e, active: true, publicKeys: [], mllpAllowFrom: [] }),
);

/** Who is calling: what `authenticate` would have put on res.locals from a verified token. */
function authFor(role: string | undefined): AuthContext | undefined {
  if (!role) return undefined;
  return { issuer: 'test', subject: `a-${role}`, scopes: [], roles: new Set([role as Role]), claims: {} };
}

let base: string;
let server: Server;
let live: LiveMappings;
let copy: Awaited<ReturnType<typeof copyMappings>>;

beforeAll(async () => {
  copy = await copyMappings();
  live = await createLiveMappings(copy.dir, { logger: silentLogger(), watch: 'off' });
  const app = express();
  app.use((req, res, next) => {
    const auth = authFor(req.header('x-test-role'));
    if (auth) res.locals.auth = auth;
    next();
  });
  app.use(
    mappingsRoutes({
      mappings: live,
      model: loadFhirModel(),
      canonicalBase: 'https://county-hie.org/fhir',
      maxBodyBytes: 1_000_000,
      institutions: {
        get: async (id) => institutions.find((i) => i.id === id),
        list: async () => institutions,
      },
    }),
  );
  app.use(errorHandler(silentLogger()));
  const port = await freePort();
  server = await new Promise((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await live.close();
  await copy.remove();
});

const asAdmin = { 'x-test-role': 'admin' };

/** The answer's JSON, loosely typed: the assertions below say what it must hold. */
const json = (res: Response): Promise<any> => res.json();

async function postTest(id: string, body: string | Buffer, query = '', headers: Record<string, string> = {}) {
  return fetch(`${base}/admin/mappings/${id}/$test${query}`, {
    method: 'POST',
    headers: { ...asAdmin, 'content-type': 'text/csv', ...headers },
    body,
  });
}

describe('GET /admin/mappings', () => {
  it('lists the loaded mappings with version, file and use counts', async () => {
    const res = await fetch(`${base}/admin/mappings`, { headers: asAdmin });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.lastError).toBeNull();
    expect(body.items).toContainEqual({
      id: 'village-visits',
      version: '1',
      format: 'csv',
      feed: 'village-visits',
      institutions: [],
      default: true,
      file: 'csv/village-visits.yaml',
      used: 0,
    });
    const adt = body.items.find((m: { id: string }) => m.id === 'adt');
    expect(adt).toMatchObject({ format: 'hl7v2', file: 'hl7v2/adt.yaml', default: true });
    expect(adt.messageTypes).toEqual(expect.arrayContaining(['ADT^A01', 'ADT^A08', 'ADT^A13']));
    expect(adt.messageTypes).not.toContain('ADT^A40'); // adt-merge.yaml's
    // Every ConceptMap file in the copy, by its id.
    const onDisk = (await readdir(path.join(copy.dir, 'conceptmaps'))).filter((f) => f.endsWith('.json'));
    const ids = await Promise.all(
      onDisk.map(
        async (f) =>
          (JSON.parse(await readFile(path.join(copy.dir, 'conceptmaps', f), 'utf8')) as { id: string }).id,
      ),
    );
    expect(body.conceptMaps.map((c: { id: string }) => c.id).sort()).toEqual(ids.sort());
    expect(ids).toContain('hl7-patient-class');
  });

  it('refuses a token without the admin role (403) and a request without one (401)', async () => {
    const clinician = await fetch(`${base}/admin/mappings`, { headers: { 'x-test-role': 'clinician' } });
    expect(clinician.status).toBe(403);
    const outcome = await json(clinician);
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].code).toBe('forbidden');
    expect((await fetch(`${base}/admin/mappings`)).status).toBe(401);
    expect((await postTest('village-visits', 'a,b\n1,2\n', '', { 'x-test-role': 'clinician' })).status).toBe(
      403,
    );
  });

  it('shows a refused reload with file and line, and the counts of what is used', async () => {
    const file = path.join(copy.dir, 'csv/village-visits.yaml');
    const good = await readFile(file, 'utf8');
    try {
      await writeFile(file, good.replace(/^feed: .*$/m, 'feed: [village-visits'));
      expect(await live.reload()).toBe('refused');
      const body = await json(await fetch(`${base}/admin/mappings`, { headers: asAdmin }));
      expect(body.lastError.problems[0]).toMatchObject({ file: 'csv/village-visits.yaml' });
      expect(body.lastError.problems[0].line).toBeGreaterThan(0);
      expect(body.lastError.problems[0].reason).toMatch(/^syntax:/);
      // The previous version still serves.
      expect(body.items.map((i: { id: string }) => i.id)).toContain('village-visits');
    } finally {
      await writeFile(file, good);
      expect(await live.reload()).toBe('reloaded');
    }
    live.countUse('township-his-encounter');
    const body = await json(await fetch(`${base}/admin/mappings`, { headers: asAdmin }));
    expect(body.lastError).toBeNull();
    const township = body.items.find((i: { id: string }) => i.id === 'township-his-encounter');
    expect(township.used).toBe(1);
    expect(township.lastUsedAt).toMatch(/^\d{4}-/);
  });
});

describe('POST /admin/mappings/{id}/$test', () => {
  it('maps each CSV row and returns its Bundle and issues', async () => {
    const csv = await readFile(path.join(SAMPLES, 'village-visits.csv'), 'utf8');
    const res = await postTest('village-visits', csv, '?institution=dongcun-village-clinic');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.mapping).toMatchObject({ id: 'village-visits', version: '1' });
    expect(body.institution).toBe('dongcun-village-clinic');
    const rows = csv.trim().split('\n').length - 1;
    expect(body.messages).toHaveLength(rows);
    const first = body.messages[0];
    expect(first.label).toBe('line 2');
    expect((first.bundle as Bundle).resourceType).toBe('Bundle');
    expect(JSON.stringify(first.bundle)).toContain('sid/mrn/dongcun-village-clinic');
    // Row 4 has a diagnosis code the ConceptMap does not know: kept, and reported as a warning.
    const untranslated = body.messages
      .flatMap((m: { issues: { severity: string; diagnostics: string }[] }) => m.issues)
      .find((i: { diagnostics: string }) => /XYZ99/.test(i.diagnostics));
    expect(untranslated?.severity).toBe('warning');
    // A test is not a use.
    expect(live.usage('village-visits').used).toBe(0);
  });

  it('reads a sample in the institution charset (GB 18030) when it is not UTF-8', async () => {
    const csv = await readFile(path.join(SAMPLES, 'village-visits.csv'), 'utf8');
    const res = await postTest(
      'village-visits',
      iconv.encode(csv, 'gb18030'),
      '?institution=dongcun-village-clinic',
    );
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(JSON.stringify(body.messages[0].bundle)).toContain('欧阳明');
  });

  it('maps a JSON object; the institution defaults to the one registered for the feed', async () => {
    const sample = await readFile(path.join(SAMPLES, 'township-his-encounter.json'));
    const res = await postTest('township-his-encounter', sample, '', { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.institution).toBe('qiaotou-township-health-centre');
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0].bundle.entry.length).toBeGreaterThan(1);
  });

  it('reports a row the mapping refuses as issues without a Bundle', async () => {
    const csv = await readFile(path.join(SAMPLES, 'village-visits.csv'), 'utf8');
    const [header, row] = csv.split('\n');
    // No visit number: the mapping requires it (controlId).
    const res = await postTest('village-visits', `${header}\n${row!.replace(/^[^,]+/, '')}\n`);
    const body = await json(res);
    expect(body.ok).toBe(false);
    expect(body.messages[0].bundle).toBeUndefined();
    expect(body.messages[0].issues[0].severity).toBe('error');
  });

  it('answers 404 for an unknown mapping and 400 for an unreadable sample or unknown institution', async () => {
    const unknown = await postTest('no-such-mapping', 'a\n1\n');
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).issue[0].diagnostics).toMatch(/village-visits/);
    expect((await postTest('township-his-encounter', '[1,2]')).status).toBe(400);
    expect((await postTest('township-his-encounter', '{"a":')).status).toBe(400);
    expect((await postTest('village-visits', '')).status).toBe(400);
    expect((await postTest('village-visits', 'a\n1\n', '?institution=nobody-here')).status).toBe(400);
  });
});
