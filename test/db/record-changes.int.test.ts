import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { FhirRepository } from '../../src/repository/store/fhir-repository.ts';
import { writeNewResources } from '../../src/repository/store/write-version.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/** Migration 011: the change counters kept summaries and access decisions are keyed by. */
describe.each(inject('pgServers'))('record change counters on $name', (server) => {
  let t: TestDatabase;
  let repo: FhirRepository;
  beforeAll(async () => {
    t = await createTestDatabase(server);
    repo = new FhirRepository(t.db, loadFhirModel(), 'http://hie.test/fhir');
    for (const id of ['p1', 'p2', 'p3'])
      await repo.update('Patient', id, { resourceType: 'Patient', id, gender: 'female' });
  });
  afterAll(async () => t?.drop());

  const counters = async (): Promise<Record<string, number>> => {
    const { rows } = await t.db.query<{ record_id: string; changes: string }>(
      `SELECT record_id, changes FROM record_change WHERE record_id IN ('p1', 'p2', 'p3')`,
    );
    return Object.fromEntries(rows.map((r) => [r.record_id, Number(r.changes)]));
  };
  const observation = (id: string, patient: string) => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { text: 'BP' },
    subject: { reference: `Patient/${patient}` },
  });

  it('count every write in a compartment: create, move between patients, delete, bulk insert', async () => {
    const start = await counters();
    await repo.update('Observation', 'o1', observation('o1', 'p1'));
    expect(await counters()).toEqual({ ...start, p1: start.p1! + 1 });
    // Moved to p2: both patients' records changed.
    await repo.update('Observation', 'o1', observation('o1', 'p2'));
    expect(await counters()).toEqual({ ...start, p1: start.p1! + 2, p2: start.p2! + 1 });
    await repo.delete('Observation', 'o1');
    expect(await counters()).toEqual({ ...start, p1: start.p1! + 2, p2: start.p2! + 2 });
    await writeNewResources(t.db, repo.model, [
      observation('o2', 'p3'),
      observation('o3', 'p3'),
      observation('o4', 'p3'),
    ]);
    expect(await counters()).toEqual({ ...start, p1: start.p1! + 2, p2: start.p2! + 2, p3: start.p3! + 3 });
  });

  it('leave AuditEvents out: reading a record is no change to it', async () => {
    const start = await counters();
    await repo.update('AuditEvent', 'a1', {
      resourceType: 'AuditEvent',
      id: 'a1',
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      recorded: '2026-12-02T08:00:00Z',
      agent: [{ requestor: true, who: { reference: 'Patient/p1' } }],
      source: { observer: { display: 'test' } },
      entity: [{ what: { reference: 'Patient/p1' } }],
    });
    const { rows } = await t.db.query<{ c: string[] }>(
      `SELECT compartments AS c FROM resource WHERE resource_type = 'AuditEvent' AND id = 'a1'`,
    );
    expect(rows[0]!.c).toContain('p1');
    expect(await counters()).toEqual(start);
  });
});
