import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AuditEvent } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { restAuditEvent } from '../../src/audit/audit-event.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { GENESIS_HASH, chainHash } from '../../src/audit/chain-hash.ts';
import { chainHeadPath, readChainHead } from '../../src/audit/chain-head.ts';
import { verifyAuditChain } from '../../src/audit/verify-chain.ts';
import { main } from '../../src/cli/main.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { FhirRepository } from '../../src/repository/store/fhir-repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const BASE = 'http://hie.test/fhir';

function readEvent(n: number): AuditEvent {
  return restAuditEvent({
    recorded: new Date(Date.UTC(2026, 0, 1, 8, 0, n % 60, n)).toISOString(),
    interaction: 'read',
    outcome: '0',
    actor: {
      fhirUser: `Practitioner/dr-${n % 7}`,
      issuer: 'http://hie.test',
      subject: `dr-${n % 7}`,
      institution: 'county-hospital',
      roles: ['clinician'],
    },
    purposeOfUse: 'TREAT',
    records: [`Observation/obs-${n}`],
    patients: [`Patient/p-${n % 11}`],
    person: `Patient/person-${n % 11}`,
    observer: { display: 'County HIE' },
  });
}

/** Runs SQL as a privileged attacker would: the append-only trigger switched off for the statement. */
async function asAttacker(t: TestDatabase, sql: string, params: unknown[] = []): Promise<void> {
  await t.db.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_chain DISABLE TRIGGER USER');
    await tx.query(sql, params);
    await tx.query('ALTER TABLE audit_chain ENABLE TRIGGER USER');
  });
}

describe('the audit chain', () => {
  /** Runs `hie …` in-process against this test's database and data folder. */
  const hie = async (argv: string[]) => {
    let out = '';
    let err = '';
    const saved = { DATABASE_URL: process.env.DATABASE_URL, HIE_DATA_DIR: process.env.HIE_DATA_DIR };
    process.env.DATABASE_URL = t.url;
    process.env.HIE_DATA_DIR = dataDir;
    try {
      const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
      return { code, out, err };
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };
  let t: TestDatabase;
  let dataDir: string;
  let headFile: string;
  let repo: FhirRepository;
  const appended: { id: string; sequence: number; hash: string }[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(inject('pgServers')[0]!);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hie-audit-'));
    headFile = chainHeadPath(dataDir);
    repo = new FhirRepository(t.db, loadFhirModel(), BASE);
    // Two trails on one database stand for two processes (gateway and worker) appending at once.
    const a = new AuditTrail(t.db, repo, { headFile, headEvery: 50 });
    const b = new AuditTrail(t.db, repo, { headFile, headEvery: 50 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, n) => (n % 2 === 0 ? a : b).append(readEvent(n))),
    );
    appended.push(...results);
    await a.close();
    await b.close();
  });
  afterAll(async () => {
    await t?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('200 concurrent appends from two writers form one gapless sequence, each row chained to the one before', async () => {
    expect(appended.map((r) => r.sequence).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    const { rows } = await t.db.query('SELECT seq, event, prev_hash, hash FROM audit_chain ORDER BY seq');
    expect(rows).toHaveLength(200);
    let previous = GENESIS_HASH;
    for (const row of rows) {
      expect(row.prev_hash).toBe(previous);
      expect(row.hash).toBe(chainHash(previous, row.event));
      expect(canonicalJson(JSON.parse(row.event))).toBe(row.event);
      previous = row.hash;
    }
    expect(await readChainHead(headFile)).toEqual({ sequence: 200, hash: previous });
    const result = await verifyAuditChain(t.db, headFile);
    expect(result).toMatchObject({ ok: true, events: 200, lastSequence: 200 });
  });

  it('every chained event is also an AuditEvent resource with the same content', async () => {
    const { rows } = await t.db.query(
      `SELECT c.event, r.content::text AS content FROM audit_chain c
         JOIN resource r ON r.resource_type = 'AuditEvent' AND r.id = c.event_id ORDER BY c.seq`,
    );
    expect(rows).toHaveLength(200);
    for (const row of rows) {
      const { meta: _meta, ...stored } = JSON.parse(row.content);
      expect(canonicalJson(stored)).toBe(row.event);
    }
  });

  it('the table refuses UPDATE, DELETE and TRUNCATE from the application', async () => {
    await expect(t.db.query("UPDATE audit_chain SET event = '{}' WHERE seq = 1")).rejects.toThrow(
      /append-only/,
    );
    await expect(t.db.query('DELETE FROM audit_chain WHERE seq = 1')).rejects.toThrow(/append-only/);
    await expect(t.db.query('TRUNCATE audit_chain')).rejects.toThrow(/append-only/);
  });

  it('finds an edited event (trigger disabled), naming its sequence number', async () => {
    const { rows } = await t.db.query('SELECT event FROM audit_chain WHERE seq = 37');
    const original = rows[0].event as string;
    const edited = original.replace('"outcome":"0"', '"outcome":"4"');
    expect(edited).not.toBe(original);
    await asAttacker(t, 'UPDATE audit_chain SET event = $1 WHERE seq = 37', [edited]);
    try {
      const result = await verifyAuditChain(t.db, headFile);
      expect(result.ok).toBe(false);
      expect(result.problem).toMatchObject({ kind: 'edited', sequence: 37 });
    } finally {
      await asAttacker(t, 'UPDATE audit_chain SET event = $1 WHERE seq = 37', [original]);
    }
    expect((await verifyAuditChain(t.db, headFile)).ok).toBe(true);
  });

  it('finds an edit whose row hash was recomputed: the next link breaks', async () => {
    const { rows } = await t.db.query('SELECT event, prev_hash, hash FROM audit_chain WHERE seq = 120');
    const { event, prev_hash: prev, hash } = rows[0];
    const edited = (event as string).replace('Practitioner/dr-', 'Practitioner/xx-');
    await asAttacker(t, 'UPDATE audit_chain SET event = $1, hash = $2 WHERE seq = 120', [
      edited,
      chainHash(prev, edited),
    ]);
    try {
      const result = await verifyAuditChain(t.db, headFile);
      expect(result.problem).toMatchObject({ kind: 'broken-link', sequence: 120 });
    } finally {
      await asAttacker(t, 'UPDATE audit_chain SET event = $1, hash = $2 WHERE seq = 120', [event, hash]);
    }
  });

  it('finds a rewrite that recomputed every later hash, through the head file', async () => {
    const { rows } = await t.db.query(
      'SELECT seq, event, prev_hash, hash FROM audit_chain WHERE seq >= 150 ORDER BY seq',
    );
    let previous = rows[0].prev_hash as string;
    const forged = rows.map((r) => {
      const event =
        r.seq === '150' ? (r.event as string).replace('"outcome":"0"', '"outcome":"8"') : (r.event as string);
      const hash = chainHash(previous, event);
      const row = { seq: Number(r.seq), event, prev: previous, hash };
      previous = hash;
      return row;
    });
    for (const f of forged)
      await asAttacker(t, 'UPDATE audit_chain SET event = $1, prev_hash = $2, hash = $3 WHERE seq = $4', [
        f.event,
        f.prev,
        f.hash,
        f.seq,
      ]);
    try {
      const result = await verifyAuditChain(t.db, headFile);
      expect(result.ok).toBe(false);
      expect(result.problem).toMatchObject({ kind: 'head-mismatch', sequence: 200 });
      // Without the head outside the database the rewrite would pass: the head is what catches it.
      const noHead = await verifyAuditChain(t.db, path.join(dataDir, 'absent.json'));
      expect(noHead.ok).toBe(true);
    } finally {
      for (const r of rows)
        await asAttacker(t, 'UPDATE audit_chain SET event = $1, prev_hash = $2, hash = $3 WHERE seq = $4', [
          r.event,
          r.prev_hash,
          r.hash,
          r.seq,
        ]);
    }
    expect((await verifyAuditChain(t.db, headFile)).ok).toBe(true);
  });

  it('finds a deleted event', async () => {
    const { rows } = await t.db.query('SELECT * FROM audit_chain WHERE seq = 50');
    await asAttacker(t, 'DELETE FROM audit_chain WHERE seq = 50');
    try {
      const result = await verifyAuditChain(t.db, headFile);
      expect(result.problem).toMatchObject({ kind: 'gap', sequence: 50 });
    } finally {
      const r = rows[0];
      await t.db.query(
        'INSERT INTO audit_chain (seq, event_id, recorded, event, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6)',
        [r.seq, r.event_id, r.recorded, r.event, r.prev_hash, r.hash],
      );
    }
    expect((await verifyAuditChain(t.db, headFile)).ok).toBe(true);
  });

  it('finds a truncated tail: the head file is ahead of the table', async () => {
    const { rows } = await t.db.query('SELECT * FROM audit_chain WHERE seq > 180 ORDER BY seq');
    await asAttacker(t, 'DELETE FROM audit_chain WHERE seq > 180');
    try {
      const result = await verifyAuditChain(t.db, headFile);
      expect(result.ok).toBe(false);
      expect(result.problem).toMatchObject({ kind: 'truncated', sequence: 181 });
      expect(result.lastSequence).toBe(180);
      const cli = await hie(['audit', 'verify']);
      expect(cli.code).toBe(1);
      expect(cli.out).toMatch(/BROKEN at event 181 \(truncated\)/);
    } finally {
      for (const r of rows)
        await t.db.query(
          'INSERT INTO audit_chain (seq, event_id, recorded, event, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6)',
          [r.seq, r.event_id, r.recorded, r.event, r.prev_hash, r.hash],
        );
    }
    expect((await verifyAuditChain(t.db, headFile)).ok).toBe(true);
  });

  it('`hie audit verify` reports an intact chain (exit 0) and prints only JSON with --json', async () => {
    const text = await hie(['audit', 'verify']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/intact: 200 event\(s\)/);
    const json = await hie(['audit', 'verify', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({
      ok: true,
      events: 200,
      lastSequence: 200,
      head: { sequence: 200 },
    });
    expect((await hie(['audit', 'check'])).code).toBe(2);
  });

  it('an edited head file is a mismatch too, and a corrupt one is an error', async () => {
    const good = await readChainHead(headFile);
    await writeFile(headFile, JSON.stringify({ sequence: 200, hash: 'f'.repeat(64) }));
    try {
      expect((await verifyAuditChain(t.db, headFile)).problem).toMatchObject({
        kind: 'head-mismatch',
        sequence: 200,
      });
      await writeFile(headFile, 'not json');
      await expect(verifyAuditChain(t.db, headFile)).rejects.toThrow();
    } finally {
      await writeFile(headFile, JSON.stringify(good));
    }
  });
});
