import { readFileSync } from 'node:fs';
import { stat, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ensureDemoKeys,
  institutionKeyFile,
  readInstitutionKey,
  rotateInstitutionKey,
} from '../../src/institutions/institution-keys.ts';
import { addInstitutions, disableInstitution, enableInstitution } from '../../src/institutions/manage.ts';
import { PostgresInstitutionRegistry } from '../../src/institutions/postgres-registry.ts';
import { DEFAULT_REGISTRY_FILE, seedInstitutions } from '../../src/institutions/seed.ts';
import { InstitutionValidationError } from '../../src/institutions/validate-entry.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/** The shipped registry's ids, in file order (parents come before their children there). */
const SEED_IDS = (JSON.parse(readFileSync(DEFAULT_REGISTRY_FILE, 'utf8')) as { id: string }[]).map(
  (e) => e.id,
);

describe.each(inject('pgServers'))('institution registry on $name', (server) => {
  let t: TestDatabase;
  let dataDir: string;
  let registry: PostgresInstitutionRegistry;
  beforeAll(async () => {
    t = await createTestDatabase(server);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-registry-'));
    // A long TTL: every change below must show through invalidate(), not through expiry.
    registry = new PostgresInstitutionRegistry(t.db, { ttlMs: 60_000 });
  });
  afterAll(async () => {
    await t?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('seeds the shipped file once, in file order, and lists it', async () => {
    const first = await seedInstitutions(t.db);
    expect(first.inserted).toEqual(SEED_IDS);
    const again = await seedInstitutions(t.db);
    expect(again).toEqual({ inserted: [], present: SEED_IDS, skipped: [] });
    const all = await registry.list();
    expect(all.map((i) => i.id)).toEqual(SEED_IDS);
    const hospital = await registry.get('county-peoples-hospital');
    expect(hospital).toEqual({
      id: 'county-peoples-hospital',
      name: { zh: '县人民医院', en: "County People's Hospital" },
      tier: 'county-hospital',
      facilityCodes: ['CPH', 'CPH-LIS'],
      formats: ['hl7v2-mllp', 'hl7v2-http', 'fhir'],
      timezone: '+08:00',
      charset: 'UTF-8',
      active: true,
      publicKeys: [],
      mllpAllowFrom: [],
    });
    expect(await registry.get('no-such-place')).toBeUndefined();
  });

  it('finds the active owner of a facility code, and nobody once it is disabled', async () => {
    expect((await registry.byFacilityCode('CPH-LIS'))?.id).toBe('county-peoples-hospital');
    expect(await registry.byFacilityCode('cph')).toBeUndefined();
    await disableInstitution(t.db, 'county-shared-lab');
    // Cached, and the write came from outside the registry object: still the old view.
    expect((await registry.byFacilityCode('CSL'))?.id).toBe('county-shared-lab');
    registry.invalidate();
    expect(await registry.byFacilityCode('CSL')).toBeUndefined();
    expect((await registry.get('county-shared-lab'))?.active).toBe(false);
    await enableInstitution(t.db, 'county-shared-lab');
    registry.invalidate();
    expect((await registry.byFacilityCode('CSL'))?.id).toBe('county-shared-lab');
  });

  it('sees its own writes at once, despite the cache', async () => {
    expect((await registry.get('chengguan-community-health-centre'))?.active).toBe(true);
    await registry.setActive('chengguan-community-health-centre', false);
    expect((await registry.get('chengguan-community-health-centre'))?.active).toBe(false);
    expect(await registry.byFacilityCode('CGCHC')).toBeUndefined();
    await registry.setActive('chengguan-community-health-centre', true);
    expect((await registry.byFacilityCode('CGCHC'))?.id).toBe('chengguan-community-health-centre');
  });

  it('never overwrites what operators changed when the seed runs again', async () => {
    await addInstitutions(
      t.db,
      {
        id: 'county-peoples-hospital',
        name: { zh: '县人民医院（新院区）', en: "County People's Hospital" },
        tier: 'county-hospital',
        facilityCodes: ['CPH'],
        formats: ['hl7v2-mllp'],
        timezone: '+08:00',
        charset: 'UTF-8',
      },
      { replace: true },
    );
    await disableInstitution(t.db, 'dongcun-village-clinic');
    await seedInstitutions(t.db);
    registry.invalidate();
    const hospital = await registry.get('county-peoples-hospital');
    expect(hospital?.name.zh).toBe('县人民医院（新院区）');
    expect(hospital?.facilityCodes).toEqual(['CPH']);
    expect((await registry.get('dongcun-village-clinic'))?.active).toBe(false);
    await enableInstitution(t.db, 'dongcun-village-clinic');
  });

  it('adds institutions with credentials, refusing clashes with clear errors', async () => {
    const added = await addInstitutions(t.db, [
      {
        id: 'beimen-village-clinic',
        name: { zh: '北门村卫生室', en: 'Beimen Village Clinic' },
        tier: 'village-clinic',
        partOf: 'new-township',
        facilityCodes: [],
        formats: ['csv:village-visits'],
        timezone: '+08:00',
        charset: 'GB18030',
        mllpAllowFrom: ['127.0.0.1', '::1'],
      },
      // The parent after its child in the file: registration still puts it first.
      {
        id: 'new-township',
        name: { zh: '新镇卫生院', en: 'New Township Health Centre' },
        tier: 'township-health-centre',
        facilityCodes: ['NTHC'],
        formats: ['hl7v2-http'],
        timezone: '+08:00',
        charset: 'UTF-8',
        jwksUrl: 'https://his.new-township.example/jwks.json',
      },
    ]);
    expect(added.map((i) => i.id)).toEqual(['new-township', 'beimen-village-clinic']);
    expect(added[0]?.jwksUrl).toBe('https://his.new-township.example/jwks.json');
    expect(added[1]?.mllpAllowFrom).toEqual(['127.0.0.1', '::1']);

    const refusal = await addInstitutions(t.db, {
      id: 'new-township',
      name: { zh: '重复', en: 'Duplicate' },
      tier: 'township-health-centre',
      facilityCodes: ['CPH'],
      formats: ['fhir'],
      timezone: '+08:00',
      charset: 'UTF-8',
      publicKeys: [{ kty: 'oct', k: 'c2VjcmV0' }],
    }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(InstitutionValidationError);
    expect((refusal as InstitutionValidationError).problems).toEqual([
      '[0].publicKeys[0]: must be an RSA key (RS384) or an EC P-384 key (ES384)',
    ]);
    const clash = await addInstitutions(t.db, {
      id: 'new-township',
      name: { zh: '重复', en: 'Duplicate' },
      tier: 'township-health-centre',
      facilityCodes: ['CPH'],
      formats: ['fhir'],
      timezone: '+08:00',
      charset: 'UTF-8',
    }).catch((e: unknown) => e);
    expect((clash as InstitutionValidationError).problems).toEqual([
      '[0].id: "new-township" is already registered',
      '[0].facilityCodes[0]: "CPH" already belongs to county-peoples-hospital',
    ]);
  });

  it('rotates a key: private PEM 0600 in the data folder, public JWK registered under its thumbprint', async () => {
    const first = await rotateInstitutionKey(t.db, dataDir, 'qiaotou-township-health-centre');
    expect(first.alg).toBe('ES384');
    expect(first.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-384', kid: first.kid, use: 'sig' });
    expect(first.publicJwk).not.toHaveProperty('d');
    const file = institutionKeyFile(dataDir, 'qiaotou-township-health-centre');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readInstitutionKey(dataDir, 'qiaotou-township-health-centre'))?.kid).toBe(first.kid);

    registry.invalidate();
    expect((await registry.get('qiaotou-township-health-centre'))?.publicKeys.map((k) => k.kid)).toEqual([
      first.kid,
    ]);
    const second = await rotateInstitutionKey(t.db, dataDir, 'qiaotou-township-health-centre');
    expect(second.kid).not.toBe(first.kid);
    registry.invalidate();
    // The replaced key is gone, not kept beside the new one.
    expect((await registry.get('qiaotou-township-health-centre'))?.publicKeys.map((k) => k.kid)).toEqual([
      second.kid,
    ]);
    await expect(rotateInstitutionKey(t.db, dataDir, 'no-such-place')).rejects.toThrow(
      'no institution "no-such-place"',
    );
  });

  it('gives demo keys to active keyless institutions only, reusing a key file left from before', async () => {
    // A key file without a registration (as after a database reset).
    const leftover = await mkdtemp(path.join(os.tmpdir(), 'hie-registry-left-'));
    try {
      const made = await rotateInstitutionKey(t.db, leftover, 'county-shared-lab');
      await t.db.query(`UPDATE institution SET public_keys = '[]' WHERE id = 'county-shared-lab'`);
      await disableInstitution(t.db, 'chengguan-community-health-centre');
      const given = await ensureDemoKeys(t.db, leftover);
      // Every seeded one but the one with a key (qiaotou, rotated above) and the disabled one.
      const keyed = ['qiaotou-township-health-centre', 'chengguan-community-health-centre'];
      expect(given).toEqual([...SEED_IDS.filter((id) => !keyed.includes(id)), 'beimen-village-clinic']);
      registry.invalidate();
      expect((await registry.get('county-shared-lab'))?.publicKeys.map((k) => k.kid)).toEqual([made.kid]);
      // Second run: everybody has keys now.
      expect(await ensureDemoKeys(t.db, leftover)).toEqual([]);
    } finally {
      await enableInstitution(t.db, 'chengguan-community-health-centre');
      await rm(leftover, { recursive: true, force: true });
    }
  });
});
