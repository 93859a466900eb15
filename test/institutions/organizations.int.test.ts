import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { disableInstitution } from '../../src/institutions/manage.ts';
import { projectOrganizations } from '../../src/institutions/organizations.ts';
import { PostgresInstitutionRegistry } from '../../src/institutions/postgres-registry.ts';
import { DEFAULT_REGISTRY_FILE, seedInstitutions } from '../../src/institutions/seed.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const BASE = 'https://county-hie.org/fhir';
/** How many institutions the shipped registry seeds. */
const SEED_COUNT = (JSON.parse(readFileSync(DEFAULT_REGISTRY_FILE, 'utf8')) as unknown[]).length;

describe.each(inject('pgServers'))('Organization projection on $name', (server) => {
  let app: TestApp;
  let registry: PostgresInstitutionRegistry;
  const read = async (path: string) => {
    const res = await fetch(`${app.fhirUrl}/${path}`, {
      headers: { Authorization: `Bearer ${app.adminToken}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    app = await startTestApp(server);
    await seedInstitutions(app.database.db);
    registry = new PostgresInstitutionRegistry(app.database.db);
  });
  afterAll(async () => app?.close());

  it('writes every institution as Organization/{id}, parents first, readable through /fhir', async () => {
    const first = await projectOrganizations(registry, app.repo, BASE);
    // The village clinic's parent (the township centre) is written before it.
    expect(first.written.indexOf('qiaotou-township-health-centre')).toBeLessThan(
      first.written.indexOf('dongcun-village-clinic'),
    );
    expect(first.written).toHaveLength(SEED_COUNT);
    const { status, body } = await read('Organization/county-peoples-hospital');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      resourceType: 'Organization',
      id: 'county-peoples-hospital',
      identifier: [{ system: `${BASE}/sid/institution`, value: 'county-peoples-hospital' }],
      active: true,
      name: '县人民医院',
      alias: ["County People's Hospital"],
      type: [
        {
          coding: [
            { system: `${BASE}/CodeSystem/institution-tier`, code: 'county-hospital' },
            { code: 'prov' },
          ],
        },
      ],
    });
    expect(body).not.toHaveProperty('partOf');
    const village = await read('Organization/dongcun-village-clinic');
    expect(village.body.partOf).toEqual({ reference: 'Organization/qiaotou-township-health-centre' });
    // The identifier is searchable like any other.
    const found = await read(
      `Organization?identifier=${encodeURIComponent(`${BASE}/sid/institution|county-shared-lab`)}`,
    );
    expect(found.body.entry?.map((e: any) => e.resource.id)).toEqual(['county-shared-lab']);
  });

  it('leaves unchanged Organizations alone and writes a new version when an institution changes', async () => {
    const again = await projectOrganizations(registry, app.repo, BASE);
    expect(again.written).toEqual([]);
    expect(again.unchanged).toHaveLength(SEED_COUNT);
    expect((await read('Organization/county-shared-lab')).body.meta.versionId).toBe('1');

    await disableInstitution(app.database.db, 'county-shared-lab');
    registry.invalidate();
    expect((await projectOrganizations(registry, app.repo, BASE)).written).toEqual(['county-shared-lab']);
    const lab = await read('Organization/county-shared-lab');
    expect(lab.body.active).toBe(false);
    expect(lab.body.meta.versionId).toBe('2');
  });
});
