import net from 'node:net';
import type { Bundle, Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { workerClaims } from '../../src/auth/issue-token.ts';
import { fhirPatientRepository } from '../../src/identity/fhir-patients.ts';
import { createIdentityLinker, type IdentityLinker } from '../../src/identity/linker.ts';
import { loadMatchRules } from '../../src/identity/match/rules.ts';
import { NATIONAL_ID_SYSTEM, nationalIdCheckChar } from '../../src/identity/national-id.ts';
import type { InboundMessage } from '../../src/inbox/types.ts';
import { uuidv7 } from '../../src/kernel/ids.ts';
import { createRepositoryWriter, type RepositoryWriter } from '../../src/queue/repository-writer.ts';
import { WriteError } from '../../src/queue/write-errors.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { putOrganization } from './support/harness.ts';
import { freePort } from '../support/free-port.ts';
import { BASE, EVENT_TIME_URL } from './support/messages.ts';

const CPH = 'county-peoples-hospital';
const TOWN = 'qiaotou-township-health-centre';
const server = inject('pgServers')[0]!;

interface Resident {
  institution: string;
  mrn: string;
  nid: string;
  name: string;
  eventTime: string;
  gender?: string;
}

/** A registration as the mapping writes it: the Patient upserted by its institution-scoped MRN. */
function registration(r: Resident): InboundMessage {
  const id = uuidv7();
  const mrnSystem = `${BASE}/sid/mrn/${r.institution}`;
  const patient = {
    resourceType: 'Patient',
    meta: { source: `${BASE}/institution/${r.institution}#${id}` },
    extension: [{ url: EVENT_TIME_URL, valueDateTime: r.eventTime }],
    identifier: [
      { system: mrnSystem, value: r.mrn },
      { system: NATIONAL_ID_SYSTEM, value: r.nid },
    ],
    name: [{ text: r.name }],
    gender: r.gender ?? 'female',
    birthDate: `${r.nid.slice(6, 10)}-${r.nid.slice(10, 12)}-${r.nid.slice(12, 14)}`,
  } as Patient;
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: `urn:uuid:${crypto.randomUUID()}`,
        resource: patient,
        request: { method: 'PUT', url: `Patient?identifier=${encodeURIComponent(`${mrnSystem}|${r.mrn}`)}` },
      },
    ],
  };
  const now = new Date().toISOString();
  return {
    id,
    institution: r.institution,
    format: 'hl7v2',
    transport: 'http',
    type: 'ADT^A04',
    controlId: `${r.mrn}-${r.eventTime}`,
    contentHash: id,
    raw: Buffer.from('MSH|^~\\&|'),
    receivedAt: now,
    state: 'queued',
    bundle,
    eventTime: r.eventTime,
    flags: [],
    attempts: 0,
    updatedAt: now,
  };
}

const validId = (first17: string) => first17 + nationalIdCheckChar(first17);

describe('identity first: a new resident is founded in the message’s own transaction', () => {
  let app: TestApp;
  let identity: IdentityLinker;
  const token = () => app.token(workerClaims(app.publicUrl), 300);
  const writerWith = (linker: IdentityLinker): RepositoryWriter =>
    createRepositoryWriter({ fhirBaseUrl: app.fhirUrl, canonicalBase: BASE, token, identity: linker });

  beforeAll(async () => {
    app = await startTestApp(server);
    for (const org of [CPH, TOWN]) await putOrganization(app.fhirUrl, app.adminToken, org);
    identity = createIdentityLinker({
      db: app.database.db,
      rules: loadMatchRules(),
      canonicalBase: BASE,
      repository: fhirPatientRepository({ fhirBaseUrl: app.fhirUrl, token }),
    });
  });
  afterAll(async () => app?.close());

  const read = async (ref: string): Promise<Patient> => {
    const res = await fetch(`${app.fhirUrl}/${ref}`, {
      headers: { authorization: `Bearer ${app.adminToken}` },
    });
    expect(res.status, ref).toBe(200);
    return (await res.json()) as Patient;
  };
  const referOf = (p: Patient) => p.link?.filter((l) => l.type === 'refer').map((l) => l.other.reference);
  const personOfRecord = async (ref: string) =>
    (
      await app.database.db.query<{ person_id: string }>(
        `SELECT person_id FROM identity_record WHERE patient_ref = $1`,
        [ref],
      )
    ).rows[0]?.person_id;
  const personRow = async (id: string) =>
    (
      await app.database.db.query<{ golden_hash: string | null }>(
        `SELECT golden_hash FROM identity_person WHERE id = $1`,
        [id],
      )
    ).rows[0];
  /** The linker, with `founded` called back once a person has been reserved. */
  const reserving = (founded: (personId: string) => Promise<void>): IdentityLinker => ({
    ...identity,
    foundingFor: async (patient, institution, sourceUrl) => {
      const f = await identity.foundingFor!(patient, institution, sourceUrl);
      if (f) await founded(f.personId);
      return f;
    },
  });

  it('writes the golden record and the refer link with the Patient: one version each, kept by the next message', async () => {
    const nid = validId('33112419700101002');
    const written = await writerWith(identity).write(
      registration({
        institution: CPH,
        mrn: 'IF-1',
        nid,
        name: '钱玉兰',
        eventTime: '2026-11-01T08:00:00+08:00',
      }),
    );
    expect(written.map((w) => [w.reference.split('/')[0], w.status.slice(0, 3), w.versionId])).toEqual([
      ['Patient', '201', '1'],
      ['Provenance', '201', '1'],
      ['Patient', '201', '1'],
    ]);
    const sourceRef = written[0]!.reference;
    const personId = written[2]!.reference.slice('Patient/'.length);
    const source = await read(sourceRef);
    // Linked in the first version: identity wrote no second one.
    expect(source.meta?.versionId).toBe('1');
    expect(referOf(source)).toEqual([`Patient/${personId}`]);
    const golden = await read(`Patient/${personId}`);
    expect(golden.meta?.versionId).toBe('1');
    expect(golden.meta?.tag).toContainEqual(expect.objectContaining({ code: 'golden' }));
    expect(golden.link).toEqual([{ other: { reference: sourceRef }, type: 'seealso' }]);
    expect(golden.name?.[0]?.text).toBe('钱玉兰');
    expect(await personOfRecord(sourceRef)).toBe(personId);
    expect((await personRow(personId))?.golden_hash).toMatch(/^[0-9a-f]{64}$/);

    // The next message about her finds everything current: the recorded hash is the golden
    // record's, so nothing of identity is written again.
    await writerWith(identity).write(
      registration({
        institution: CPH,
        mrn: 'IF-1',
        nid,
        name: '钱玉兰',
        eventTime: '2026-11-02T08:00:00+08:00',
      }),
    );
    const again = await read(sourceRef);
    expect(again.meta?.versionId).toBe('2');
    expect(referOf(again)).toEqual([`Patient/${personId}`]);
    expect((await read(`Patient/${personId}`)).meta?.versionId).toBe('1');
  });

  it('a record of the same resident placed meanwhile: the record joins it and the reserved person is retired', async () => {
    const nid = validId('33112419720202004');
    let reserved = '';
    const racing = reserving(async (personId) => {
      reserved = personId;
      // The township centre's record of her is written and placed before the hospital's.
      await writerWith(identity).write(
        registration({
          institution: TOWN,
          mrn: 'T-2',
          nid,
          name: '孙美华',
          eventTime: '2026-11-01T07:00:00+08:00',
        }),
      );
    });
    const written = await writerWith(racing).write(
      registration({
        institution: CPH,
        mrn: 'IF-2',
        nid,
        name: '孙美华',
        eventTime: '2026-11-01T08:00:00+08:00',
      }),
    );
    const hospitalRef = written[0]!.reference;
    const { rows } = await app.database.db.query<{ patient_ref: string; person_id: string }>(
      `SELECT patient_ref, person_id FROM identity_record WHERE institution = $1 AND match->'nationalId'->>'value' = $2`,
      [TOWN, nid],
    );
    const person = rows[0]!.person_id;
    expect(reserved).not.toBe('');
    expect(person).not.toBe(reserved);
    expect(await personOfRecord(hospitalRef)).toBe(person);
    expect(referOf(await read(hospitalRef))).toEqual([`Patient/${person}`]);
    expect((await read(`Patient/${person}`)).link?.map((l) => l.other.reference).sort()).toEqual(
      [hospitalRef, rows[0]!.patient_ref].sort(),
    );
    // Written with the message, then retired: inactive and without links, like a person left empty.
    const retired = await read(`Patient/${reserved}`);
    expect(retired.active).toBe(false);
    expect(retired.link).toBeUndefined();
  });

  it('a retried message places its record in the reserved person its link names, founding no other', async () => {
    const nid = validId('33112419800303006');
    // The worker stops after the transaction committed and before the record was placed.
    let fail = true;
    const stopping: IdentityLinker = {
      ...identity,
      linkWritten: async (patients) => {
        if (fail) {
          fail = false;
          throw new Error('worker stopped');
        }
        return identity.linkWritten(patients);
      },
    };
    const message = registration({
      institution: CPH,
      mrn: 'IF-3',
      nid,
      name: '周丽娟',
      eventTime: '2026-11-01T08:00:00+08:00',
    });
    await expect(writerWith(stopping).write(message)).rejects.toBeInstanceOf(WriteError);
    const written = await writerWith(stopping).write(message);
    const sourceRef = written.find((w) => w.reference.startsWith('Patient/'))!.reference;
    const source = await read(sourceRef);
    const [named] = referOf(source)!;
    const personId = named!.slice('Patient/'.length);
    expect(await personOfRecord(sourceRef)).toBe(personId);
    const golden = await read(named!);
    expect(golden.active).toBe(true);
    expect(golden.link).toEqual([{ other: { reference: sourceRef }, type: 'seealso' }]);
    const { rows } = await app.database.db.query(
      `SELECT p.id FROM identity_person p WHERE NOT EXISTS (SELECT 1 FROM identity_record r WHERE r.person_id = p.id)
          AND p.golden_hash IS NULL`,
    );
    expect(rows).toEqual([]);
  });

  it('a create that finds the Patient another message created first retires the reserved person', async () => {
    const nid = validId('33112419850404008');
    const mrnSystem = `${BASE}/sid/mrn/${CPH}`;
    let reserved = '';
    const racing = reserving(async (personId) => {
      reserved = personId;
      // Another message of this patient creates her first (its own linking comes later).
      await app.repo.create({
        resourceType: 'Patient',
        identifier: [{ system: mrnSystem, value: 'IF-4' }],
        name: [{ text: '郑红梅' }],
        gender: 'female',
      });
    });
    const written = await writerWith(racing).write(
      registration({
        institution: CPH,
        mrn: 'IF-4',
        nid,
        name: '郑红梅',
        eventTime: '2026-11-01T08:00:00+08:00',
      }),
    );
    const res = await fetch(`${app.fhirUrl}/Patient?identifier=${encodeURIComponent(`${mrnSystem}|IF-4`)}`, {
      headers: { authorization: `Bearer ${app.adminToken}` },
    });
    const found = ((await res.json()) as Bundle).entry ?? [];
    expect(found).toHaveLength(1);
    const sourceRef = `Patient/${found[0]!.resource!.id}`;
    expect(written.map((w) => w.reference)).toContain(sourceRef);
    const retired = await read(`Patient/${reserved}`);
    expect(retired.active).toBe(false);
    expect(retired.link).toBeUndefined();
    const person = await personOfRecord(sourceRef);
    expect(person).toBeDefined();
    expect(person).not.toBe(reserved);
    expect(referOf(await read(sourceRef))).toEqual([`Patient/${person}`]);
  });

  it('a transaction the repository refuses gives the reserved person back', async () => {
    let reserved = '';
    const noting = reserving(async (personId) => {
      reserved = personId;
    });
    const message = registration({
      institution: CPH,
      mrn: 'IF-5',
      nid: validId('33112419900505001'),
      name: '冯小燕',
      eventTime: '2026-11-01T08:00:00+08:00',
      gender: 'not-a-gender',
    });
    const err = await writerWith(noting)
      .write(message)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteError);
    expect((err as WriteError).kind).toBe('permanent');
    expect(reserved).not.toBe('');
    expect(await personRow(reserved)).toBeUndefined();
  });

  it('identity finding the repository unreachable fails the try without spending an attempt; a reset still counts', async () => {
    const port = await freePort(); // nothing listens there
    const refused = fhirPatientRepository({ fhirBaseUrl: `http://127.0.0.1:${port}/fhir`, token });
    const resetting = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((r) => resetting.listen(0, '127.0.0.1', r));
    const reset = fhirPatientRepository({
      fhirBaseUrl: `http://127.0.0.1:${(resetting.address() as net.AddressInfo).port}/fhir`,
      token,
    });
    try {
      for (const [repository, unreached] of [
        [refused, true],
        [reset, false],
      ] as const) {
        // Identity's own read of a Patient, after the message's transaction was written.
        const linker: IdentityLinker = {
          ...identity,
          linkWritten: async () => {
            await repository.read('not-there');
            return [];
          },
        };
        const err = await writerWith(linker)
          .write(
            registration({
              institution: CPH,
              mrn: `IF-6-${unreached}`,
              nid: validId(unreached ? '33112419910606001' : '33112419920707002'),
              name: '韩春梅',
              eventTime: '2026-11-01T08:00:00+08:00',
            }),
          )
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WriteError);
        expect(err).toMatchObject({ kind: 'transient', code: 'HIE-IDENTITY', unreached });
      }
    } finally {
      await new Promise((r) => resetting.close(r));
    }
  });
});
