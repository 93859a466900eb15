import { LosslessNumber } from 'lossless-json';
import type { Bundle } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CONTROL_ID_REUSED, PostgresInbox } from '../../src/inbox/postgres-inbox.ts';
import type { NewMessage } from '../../src/inbox/types.ts';
import { uuidv7 } from '../../src/kernel/ids.ts';
import { stringifyFhirJson } from '../../src/kernel/fhir-json.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

function message(over: Partial<NewMessage> = {}): NewMessage {
  return {
    id: uuidv7(),
    institution: 'county-peoples-hospital',
    format: 'hl7v2',
    transport: 'http',
    type: 'ADT^A01',
    controlId: `MSG-${uuidv7()}`,
    raw: Buffer.from(`MSH|^~\\&|HIS|CPH|||20240101||ADT^A01|${Math.random()}|P|2.5\r`),
    state: 'queued',
    ...over,
  };
}

describe.each(inject('pgServers'))('PostgresInbox on $name', (server) => {
  let t: TestDatabase;
  let inbox: PostgresInbox;
  beforeAll(async () => {
    t = await createTestDatabase(server);
    inbox = new PostgresInbox(t.db);
  });
  afterAll(async () => t?.drop());

  it('stores a message and reads it back, raw bytes and Bundle decimals exact', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Observation', valueQuantity: { value: new LosslessNumber('1.50') } } },
      ],
    } as unknown as Bundle;
    const raw = Buffer.from([0x4d, 0x53, 0x48, 0xd5, 0xc5, 0x00, 0xff]); // GB18030 bytes, not UTF-8
    const m = message({
      raw,
      bundle,
      eventTime: '2024-03-01T08:30:00+08:00',
      charset: 'GB18030',
      feed: 'lab',
    });
    const { message: stored, resend } = await inbox.store(m);
    expect(resend).toBe(false);
    expect(stored).toMatchObject({ id: m.id, state: 'queued', attempts: 0, flags: [], feed: 'lab' });
    expect(stored.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const got = await inbox.get(m.id);
    expect(got!.raw.equals(raw)).toBe(true);
    expect(got!.eventTime).toBe('2024-03-01T08:30:00+08:00');
    expect(stringifyFhirJson(got!.bundle)).toContain('"value":1.50');
    const { rows } = await t.db.query('SELECT bundle::text AS b FROM inbound_message WHERE id = $1', [m.id]);
    expect(rows[0].b).toContain('"value":1.50');
    expect(await inbox.get(uuidv7())).toBeUndefined();
  });

  it('a re-send returns the original; the same control id with other content is new and flagged', async () => {
    const first = message();
    await inbox.store(first);
    const again = await inbox.store({ ...first, id: uuidv7() });
    expect(again.resend).toBe(true);
    expect(again.message.id).toBe(first.id);
    const other = await inbox.store({ ...first, id: uuidv7(), raw: Buffer.from('different content') });
    expect(other.resend).toBe(false);
    expect(other.message.flags).toEqual([CONTROL_ID_REUSED]);
    // The same control id from another institution is unrelated.
    const elsewhere = await inbox.store({ ...first, id: uuidv7(), institution: 'xiaoxi-township' });
    expect(elsewhere.resend).toBe(false);
    expect(elsewhere.message.flags).toEqual([]);
    const { rows } = await t.db.query(
      'SELECT count(*)::int AS n FROM inbound_message WHERE control_id = $1',
      [first.controlId],
    );
    expect(rows[0].n).toBe(3);
  });

  it('twenty identical messages stored in parallel make exactly one row', async () => {
    const m = message();
    const results = await Promise.all(Array.from({ length: 20 }, () => inbox.store({ ...m, id: uuidv7() })));
    expect(results.filter((r) => !r.resend)).toHaveLength(1);
    expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
    const { rows } = await t.db.query(
      'SELECT count(*)::int AS n FROM inbound_message WHERE control_id = $1',
      [m.controlId],
    );
    expect(rows[0].n).toBe(1);
  });

  it('ten different messages under one new control id in parallel: all kept, all but the first flagged', async () => {
    const m = message();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        inbox.store({ ...m, id: uuidv7(), raw: Buffer.from(`${m.raw.toString()}|${i % 5}`) }),
      ),
    );
    // Five contents, each sent twice: five rows, five answered as re-sends of their twin.
    expect(results.filter((r) => r.resend)).toHaveLength(5);
    const { rows } = await t.db.query<{ flags: string[] }>(
      'SELECT flags FROM inbound_message WHERE control_id = $1',
      [m.controlId],
    );
    expect(rows).toHaveLength(5);
    expect(rows.filter((r) => r.flags.length === 0)).toHaveLength(1);
    expect(rows.filter((r) => r.flags.includes(CONTROL_ID_REUSED))).toHaveLength(4);
  });

  it('lists newest first with filters and a keyset cursor', async () => {
    const inst = `list-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const m = message({
        institution: inst,
        type: i % 2 ? 'ORU^R01' : 'ADT^A01',
        state: i === 3 ? 'failed' : 'queued',
      });
      ids.push(m.id);
      await inbox.store(m);
    }
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await inbox.list({ institution: inst, count: 3, ...(cursor ? { cursor } : {}) });
      pages.push(page.items.map((m) => m.id));
      cursor = page.next;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual([...ids].reverse());
    const oru = await inbox.list({ institution: inst, type: 'ORU^R01' });
    expect(oru.items.map((m) => m.id)).toEqual([ids[5], ids[3], ids[1]]);
    expect(oru.next).toBeUndefined();
    const failed = await inbox.list({ institution: inst, state: 'failed' });
    expect(failed.items.map((m) => m.id)).toEqual([ids[3]]);
    expect(failed.items[0]!.bundle).toBeUndefined();
    const byControl = await inbox.list({ controlId: (await inbox.get(ids[2]!))!.controlId });
    expect(byControl.items.map((m) => m.id)).toEqual([ids[2]]);
    expect(
      (await inbox.list({ institution: inst, since: new Date(Date.now() + 60_000).toISOString() })).items,
    ).toEqual([]);
    expect(
      (await inbox.list({ institution: inst, since: new Date(Date.now() - 60_000).toISOString() })).items,
    ).toHaveLength(7);
    expect((await inbox.list({ institution: inst, cursor: 'not-a-cursor' })).items).toEqual([]);
  });

  it('filters by feed', async () => {
    const feed = `feed-${Date.now()}`;
    const m = message({ format: 'csv', feed, type: `csv:${feed}` });
    await inbox.store(m);
    await inbox.store(message({ format: 'csv', feed: 'other' }));
    expect((await inbox.list({ feed })).items.map((x) => x.id)).toEqual([m.id]);
  });

  it('counts attempts, marks stored and failed, replaces on replay, and finds pending ones', async () => {
    const a = message();
    const b = message();
    await inbox.store(a);
    await inbox.store(b);
    expect(await inbox.countAttempt(a.id)).toBe(1);
    const claimed = await inbox.claim(a.id);
    expect(claimed?.attempts).toBe(2);
    expect(claimed?.bundle).toEqual(a.bundle);
    await inbox.markStored(a.id, [{ reference: 'Patient/1', versionId: '1', status: '201 Created' }]);
    const stored = await inbox.get(a.id);
    expect(stored).toMatchObject({ state: 'stored', attempts: 2, written: [{ reference: 'Patient/1' }] });
    // A stored message is not claimed again, and the claim counts nothing.
    expect(await inbox.claim(a.id)).toBeUndefined();
    expect((await inbox.get(a.id))?.attempts).toBe(2);
    await inbox.markFailed(b.id, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid' }],
    });
    expect((await inbox.get(b.id))!.state).toBe('failed');
    await inbox.replace(b.id, { state: 'queued', type: 'ADT^A08', eventTime: '2024-01-02' });
    expect(await inbox.get(b.id)).toMatchObject({ state: 'queued', type: 'ADT^A08', attempts: 0 });
    const future = new Date(Date.now() + 60_000);
    const pending = await inbox.pendingIds(future, 10_000);
    expect(pending).toContain(b.id);
    expect(pending).not.toContain(a.id);
    expect(await inbox.pendingIds(new Date(Date.now() - 60_000), 10_000)).not.toContain(b.id);
  });
});
