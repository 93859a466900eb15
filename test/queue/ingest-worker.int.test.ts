import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { workerClaims } from '../../src/auth/issue-token.ts';
import { PostgresInbox } from '../../src/inbox/postgres-inbox.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { createIngestQueue, type ReconcilableQueue } from '../../src/queue/ingest-queue.ts';
import { type IngestWorker, startIngestWorker } from '../../src/queue/ingest-worker.ts';
import { startReconciler } from '../../src/queue/reconciler.ts';
import { createRepositoryWriter, type RepositoryWriter } from '../../src/queue/repository-writer.ts';
import { SKIPPED_STATUS } from '../../src/queue/write-plan.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { deleteKeys, putOrganization, repositoryCounts, testPrefix, waitFor } from './support/harness.ts';
import { BASE, EVENT_TIME_URL, newMessage } from './support/messages.ts';

const INST = 'county-peoples-hospital';
const server = inject('pgServers')[0]!;
const redisUrl = inject('redisUrl');
const prefix = testPrefix('worker');

describe('ingest worker against a real repository', () => {
  let app: TestApp;
  let inbox: PostgresInbox;
  let queue: ReconcilableQueue;
  let worker: IngestWorker;
  let writer: RepositoryWriter;
  const logger = silentLogger();

  beforeAll(async () => {
    app = await startTestApp(server);
    await putOrganization(app.fhirUrl, app.adminToken, INST);
    inbox = new PostgresInbox(app.database.db);
    queue = createIngestQueue({ redisUrl, prefix, logger, backoffMs: 200, attempts: 3 });
    writer = createRepositoryWriter({
      fhirBaseUrl: app.fhirUrl,
      canonicalBase: BASE,
      token: () => app.token(workerClaims(app.publicUrl), 300),
    });
    worker = startIngestWorker({ redisUrl, prefix, inbox, writer, logger, concurrency: 4, maxAttempts: 3 });
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    await deleteKeys(redisUrl, prefix);
    await app?.close();
  });

  const stateOf = async (id: string) => (await inbox.get(id))?.state;
  const read = async (reference: string) => {
    const res = await fetch(`${app.fhirUrl}/${reference}`, {
      headers: { authorization: `Bearer ${app.adminToken}` },
    });
    return (await res.json()) as any;
  };

  it('writes a mapped Bundle, links the Encounter to the Patient, adds a Provenance, marks stored', async () => {
    const m = newMessage({
      institution: INST,
      mrn: 'A1',
      visit: 'V1',
      eventTime: '2024-05-01T09:00:00+08:00',
    });
    await inbox.store(m);
    await queue.enqueue(m.id);
    await waitFor('stored', async () => (await stateOf(m.id)) === 'stored', 20_000);
    const stored = (await inbox.get(m.id))!;
    expect(stored.attempts).toBe(1);
    expect(stored.written!.map((w) => w.reference.split('/')[0])).toEqual([
      'Patient',
      'Encounter',
      'Provenance',
    ]);
    expect(stored.written!.every((w) => w.status.startsWith('201') && w.versionId === '1')).toBe(true);
    const [patientRef, encounterRef, provenanceRef] = stored.written!.map((w) => w.reference);
    const encounter = await read(encounterRef!);
    expect(encounter.subject.reference).toBe(patientRef);
    const provenance = await read(provenanceRef!);
    expect(provenance.target.map((t: any) => t.reference)).toEqual([patientRef, encounterRef]);
    expect(provenance.agent[0].who.reference).toBe(`Organization/${INST}`);
    expect(provenance.entity[0].what.identifier).toEqual({
      system: `${BASE}/sid/inbound-message`,
      value: m.id,
    });
    expect(provenance.meta.source).toBe(`${BASE}/institution/${INST}#${m.id}`);
  });

  it('the same message enqueued twice, and written twice, gives one set of resources', async () => {
    const m = newMessage({
      institution: INST,
      mrn: 'B1',
      visit: 'V2',
      eventTime: '2024-05-02T09:00:00+08:00',
    });
    await inbox.store(m);
    await Promise.all([queue.enqueue(m.id), queue.enqueue(m.id)]);
    await waitFor('stored', async () => (await stateOf(m.id)) === 'stored', 20_000);
    // A worker killed after the commit writes the message again: still one set.
    const again = await writer.write((await inbox.get(m.id))!);
    expect(again.map((w) => w.status)).toEqual(['200 OK', '200 OK', '200 OK']);
    const counts = await app.database.db.query(
      `SELECT resource_type, count(*)::int AS n FROM sp_token WHERE code = 'identifier' AND value IN ('B1', 'V2')
        GROUP BY resource_type ORDER BY resource_type`,
    );
    expect(counts.rows).toEqual([
      { resource_type: 'Encounter', n: 1 },
      { resource_type: 'Patient', n: 1 },
    ]);
    const prov = await app.database.db.query(
      `SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Provenance' AND id = $1`,
      [m.id],
    );
    expect(prov.rows[0].n).toBe(1);
  });

  it('an older event does not overwrite a newer one; a newer one does', async () => {
    const newer = newMessage({
      institution: INST,
      mrn: 'C1',
      eventTime: '2024-06-10T10:00:00+08:00',
      name: '新名字',
    });
    const older = newMessage({
      institution: INST,
      mrn: 'C1',
      visit: 'V3',
      eventTime: '2024-06-01T10:00:00+08:00',
      name: '旧名字',
    });
    await inbox.store(newer);
    await queue.enqueue(newer.id);
    await waitFor('newer stored', async () => (await stateOf(newer.id)) === 'stored', 20_000);
    await inbox.store(older);
    await queue.enqueue(older.id);
    await waitFor('older stored', async () => (await stateOf(older.id)) === 'stored', 20_000);
    const written = (await inbox.get(older.id))!.written!;
    const patientRef = (await inbox.get(newer.id))!.written![0]!.reference;
    // Written entries first (Encounter, Provenance), then what was left alone.
    expect(written.map((w) => w.reference.split('/')[0])).toEqual(['Encounter', 'Provenance', 'Patient']);
    expect(written[2]).toEqual({ reference: patientRef, versionId: '1', status: SKIPPED_STATUS });
    const patient = await read(patientRef);
    expect(patient.name[0].text).toBe('新名字');
    expect(patient.meta.versionId).toBe('1');
    // The older message's Encounter is still written, pointing at the stored Patient.
    const encounter = await read(written[0]!.reference);
    expect(encounter.subject.reference).toBe(patientRef);
    // A still newer event does overwrite, as a versioned update.
    const newest = newMessage({
      institution: INST,
      mrn: 'C1',
      eventTime: '2024-06-20T10:00:00+08:00',
      name: '最新',
    });
    await inbox.store(newest);
    await queue.enqueue(newest.id);
    await waitFor('newest stored', async () => (await stateOf(newest.id)) === 'stored', 20_000);
    const now = await read(patientRef);
    expect([now.name[0].text, now.meta.versionId]).toEqual(['最新', '2']);
    expect(now.extension.find((e: any) => e.url === EVENT_TIME_URL).valueDateTime).toBe(
      '2024-06-20T10:00:00+08:00',
    );
  });

  it('parallel messages for one new patient: the newest event wins whatever the order', async () => {
    const times = ['2024-07-01T08:00:00+08:00', '2024-07-03T08:00:00+08:00', '2024-07-02T08:00:00+08:00'];
    const msgs = times.map((t, i) =>
      newMessage({
        institution: INST,
        mrn: 'D1',
        visit: `VD${i}`,
        eventTime: t,
        name: `name-${t.slice(8, 10)}`,
      }),
    );
    for (const m of msgs) await inbox.store(m);
    await Promise.all(msgs.map((m) => queue.enqueue(m.id)));
    await waitFor(
      'all stored',
      async () => (await Promise.all(msgs.map((m) => stateOf(m.id)))).every((s) => s === 'stored'),
      20_000,
    );
    const found = await fetch(
      `${app.fhirUrl}/Patient?identifier=${encodeURIComponent(`${BASE}/sid/mrn/${INST}|D1`)}`,
      {
        headers: { authorization: `Bearer ${app.adminToken}` },
      },
    ).then((r) => r.json() as Promise<any>);
    expect(found.entry).toHaveLength(1);
    expect(found.entry[0].resource.name[0].text).toBe('name-03');
  });

  it('a 422 from the repository fails the message with the OperationOutcome, without retries', async () => {
    const m = newMessage({
      institution: INST,
      mrn: 'E1',
      eventTime: '2024-05-03T09:00:00+08:00',
      invalid: true,
    });
    await inbox.store(m);
    await queue.enqueue(m.id);
    await waitFor('failed', async () => (await stateOf(m.id)) === 'failed', 20_000);
    await new Promise((r) => setTimeout(r, 1_000)); // room for a (wrong) retry to show up
    const failed = (await inbox.get(m.id))!;
    expect(failed.attempts).toBe(1);
    expect(failed.outcome!.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(failed.outcome)).toMatch(/gender/);
    const counts = await repositoryCounts(app.database.db, INST);
    expect(counts.mrns).not.toBe(0);
    const e1 = await app.database.db.query(`SELECT count(*)::int AS n FROM sp_token WHERE value = 'E1'`);
    expect(e1.rows[0].n).toBe(0);
  });

  it('a repository that never answers makes a poison message: failed after maxAttempts with a reason', async () => {
    const unreachable = createRepositoryWriter({
      fhirBaseUrl: 'http://127.0.0.1:9/fhir',
      canonicalBase: BASE,
      token: async () => 'x',
    });
    const p2 = `${prefix}-poison`;
    const q2 = createIngestQueue({ redisUrl, prefix: p2, logger, backoffMs: 100, attempts: 3 });
    const w2 = startIngestWorker({
      redisUrl,
      prefix: p2,
      inbox,
      writer: unreachable,
      logger,
      concurrency: 1,
      maxAttempts: 3,
    });
    try {
      const m = newMessage({ institution: INST, mrn: 'F1', eventTime: '2024-05-04T09:00:00+08:00' });
      await inbox.store(m);
      await q2.enqueue(m.id);
      await waitFor('failed', async () => (await stateOf(m.id)) === 'failed', 20_000);
      const failed = (await inbox.get(m.id))!;
      expect(failed.attempts).toBe(3);
      expect(failed.outcome!.issue[0]!.details!.coding![0]!.code).toBe('HIE-WORKER-POISON');
    } finally {
      await w2.close();
      await q2.close();
      await deleteKeys(redisUrl, p2);
    }
  });

  it('the reconciler revives a message whose finished job still holds its id', async () => {
    const m = newMessage({ institution: INST, mrn: 'G1', eventTime: '2024-05-05T09:00:00+08:00' });
    await inbox.store(m);
    await queue.enqueue(m.id);
    await waitFor('stored', async () => (await stateOf(m.id)) === 'stored', 20_000);
    // A replay puts it back to queued: a plain enqueue is ignored by BullMQ (the completed job keeps the id).
    await inbox.replace(m.id, { state: 'queued', bundle: (await inbox.get(m.id))!.bundle! });
    await queue.enqueue(m.id);
    await new Promise((r) => setTimeout(r, 500));
    expect(await stateOf(m.id)).toBe('queued');
    const reconciler = startReconciler({ inbox, queue, intervalMs: 60_000, graceMs: 0, logger });
    try {
      expect(await reconciler.runOnce()).toBeGreaterThanOrEqual(1);
      await waitFor('stored again', async () => (await stateOf(m.id)) === 'stored', 20_000);
    } finally {
      await reconciler.close();
    }
  });
});
