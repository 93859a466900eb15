import type { AuditEvent } from 'fhir/r4';
import type { Database } from '../db/database.ts';
import { uuidv7 } from '../kernel/ids.ts';
import type { Logger } from '../kernel/logger.ts';
import type { FhirRepository } from '../repository/store/fhir-repository.ts';
import { writeNewResources } from '../repository/store/write-version.ts';
import { canonicalJson } from './canonical-json.ts';
import { GENESIS_HASH, chainHash } from './chain-hash.ts';
import { type ChainHead, writeChainHead } from './chain-head.ts';

/** Advisory lock id that puts every append of every process in one sequence. */
export const AUDIT_CHAIN_LOCK = 7_246_006;

/** Events written in one transaction at most: a burst is appended in a few commits, not hundreds. */
const MAX_BATCH = 100;

export interface AuditTrailOptions {
  /** `$HIE_DATA_DIR/audit/chain-head.json` (see `chainHeadPath`). */
  headFile: string;
  /** The head file is rewritten each time the sequence passes a multiple of this (default 100). */
  headEvery?: number;
  logger?: Logger;
}

/** Where an event landed in the chain. */
export interface AppendedEvent {
  id: string;
  sequence: number;
  hash: string;
}

interface Pending {
  event: AuditEvent & { id: string };
  /** The trail gave the id (a fresh UUIDv7): no stored AuditEvent can have it yet. */
  freshId: boolean;
  resolve: (a: AppendedEvent) => void;
  reject: (err: unknown) => void;
}

/**
 * The append-only, hash-chained audit trail. Each event is canonicalised (RFC 8785) once, and
 * that text is both hashed and stored, so verification recomputes exactly what was hashed.
 *
 * Appends from one process queue here and are written in batches, one transaction per batch
 * (a few statements, whatever the batch's size);
 * the transaction takes one advisory lock first, so appends of all processes (gateway, worker)
 * form one gapless sequence, each row chained to the one before. The same transaction stores
 * each event as an `AuditEvent` resource so `/fhir/AuditEvent?…` finds it; the event and its
 * searchable copy commit or fail together.
 */
export class AuditTrail {
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private draining: Promise<void> | undefined;
  private headWrite: Promise<void> = Promise.resolve();
  private readonly headEvery: number;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly repo: FhirRepository,
    private readonly opts: AuditTrailOptions,
  ) {
    this.headEvery = Math.max(1, Math.floor(opts.headEvery ?? 100));
  }

  /** Appends one event (an id is given when it has none); resolves once it is committed. */
  append(event: AuditEvent): Promise<AppendedEvent> {
    if (this.closed) return Promise.reject(new Error('the audit trail is closed'));
    const freshId = event.id === undefined;
    const withId = { ...event, id: event.id ?? uuidv7() };
    // An invalid event is refused alone, before it can fail a whole batch.
    try {
      this.repo.validate(withId);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ event: withId, freshId, resolve, reject });
      this.kick();
    });
  }

  /**
   * Fire and forget, for middleware: a failure is logged (without content) and not thrown.
   * An event still being put together (a promise) counts for `flush` from now on.
   */
  record(event: AuditEvent | Promise<AuditEvent | undefined>): void {
    const written = Promise.resolve(event)
      .then((e) => (e ? this.append(e) : undefined))
      .catch((err: unknown) =>
        this.opts.logger?.error(
          { err: (err as Error).message, code: (err as { code?: string }).code },
          'audit event not written',
        ),
      );
    this.inFlight.add(written);
    void written.finally(() => this.inFlight.delete(written));
  }

  /** Waits until every event recorded or appended so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    while (this.draining) await this.draining;
    await this.headWrite;
  }

  /** Flushes, then writes the chain head as it stands in the table (shutdown). */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    const { rows } = await this.db.query<{ seq: string; hash: string }>(
      'SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1',
    );
    if (rows[0])
      await writeChainHead(this.opts.headFile, { sequence: Number(rows[0].seq), hash: rows[0].hash });
  }

  /** Starts the writer unless it runs; an event queued while it was finishing starts it again. */
  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        const { appended, before } = await this.writeBatch(batch);
        batch.forEach((p, i) => p.resolve(appended[i]!));
        const last = appended[appended.length - 1]!;
        if (Math.floor(before / this.headEvery) < Math.floor(last.sequence / this.headEvery))
          this.scheduleHead({ sequence: last.sequence, hash: last.hash });
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  }

  /**
   * One transaction for the whole batch, whatever its size: the lock, the chain's last row, one
   * multi-row insert of the chained rows, and the searchable copies — those with ids the trail
   * gave written together in one bulk insert (their ids are new), any with a caller's id one by
   * one as an update-or-create.
   */
  private async writeBatch(batch: Pending[]): Promise<{ appended: AppendedEvent[]; before: number }> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_CHAIN_LOCK]);
      const { rows } = await tx.query<{ seq: string; hash: string }>(
        'SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1',
      );
      const before = rows[0] ? Number(rows[0].seq) : 0;
      let previous = rows[0]?.hash ?? GENESIS_HASH;
      const chained = { seq: [] as number[], id: [] as string[], recorded: [] as string[] };
      const texts: string[] = [];
      const prevs: string[] = [];
      const appended: AppendedEvent[] = batch.map(({ event }, i) => {
        const text = canonicalJson(event);
        const hash = chainHash(previous, text);
        chained.seq.push(before + i + 1);
        chained.id.push(event.id);
        chained.recorded.push(event.recorded);
        texts.push(text);
        prevs.push(previous);
        previous = hash;
        return { id: event.id, sequence: before + i + 1, hash };
      });
      await tx.query(
        `INSERT INTO audit_chain (seq, event_id, recorded, event, prev_hash, hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])`,
        [chained.seq, chained.id, chained.recorded, texts, prevs, appended.map((a) => a.hash)],
      );
      // Audit entities name records that may not exist (a 404, a refused id) or that may be
      // deleted later; the audit must not depend on them, so their references are not checked.
      const fresh = batch.filter((p) => p.freshId).map((p) => ({ ...p.event }) as Record<string, any>);
      await writeNewResources(tx, this.repo.model, fresh, this.repo.baseUrl);
      for (const { event } of batch.filter((p) => !p.freshId)) {
        await this.repo.update('AuditEvent', event.id, event as Record<string, any>, {
          tx,
          deferredReferences: [],
        });
      }
      return { appended, before };
    });
  }

  private scheduleHead(head: ChainHead): void {
    this.headWrite = this.headWrite
      .then(() => writeChainHead(this.opts.headFile, head))
      .catch((err: unknown) =>
        this.opts.logger?.error({ err: (err as Error).message }, 'audit chain head not written'),
      );
  }
}
