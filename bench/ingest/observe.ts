/**
 * What the bench reads back: the archive rows of a phase (cheap polling of `inbound_message`
 * by id range and control-id tag), the BullMQ timestamps of its jobs, and the CPU spent by
 * PostgreSQL (/proc) and Redis (`INFO cpu`) around it.
 */
import { readFile, readdir } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { uuidv7 } from '../../src/kernel/ids.ts';
import { INGEST_QUEUE } from '../../src/queue/connection.ts';

export interface ArchiveRow {
  controlId: string;
  state: string;
  /** Epoch ms (PostgreSQL clock = this machine's clock). */
  receivedAt: number;
  updatedAt: number;
}

/** A phase's slice of the archive: rows whose id is newer than `since` and control id starts with `tag`. */
export class ArchiveWatch {
  private readonly lowId: string;

  constructor(
    private readonly db: pg.Pool,
    since: number,
    private readonly tag: string,
  ) {
    this.lowId = uuidv7(since - 1_000);
  }

  async counts(): Promise<{ stored: number; failed: number; queued: number }> {
    const r = await this.db.query<{ stored: string; failed: string; queued: string }>(
      `SELECT count(*) FILTER (WHERE state = 'stored') AS stored, count(*) FILTER (WHERE state = 'failed') AS failed,
              count(*) FILTER (WHERE state = 'queued') AS queued
         FROM inbound_message WHERE id > $1 AND control_id LIKE $2`,
      [this.lowId, `${this.tag}%`],
    );
    const row = r.rows[0]!;
    return { stored: Number(row.stored), failed: Number(row.failed), queued: Number(row.queued) };
  }

  /** Polls every 100 ms until `expected` rows are final; resolves with the epoch ms it saw that. */
  async settled(expected: number, timeoutMs: number): Promise<{ at: number; complete: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await this.counts();
      if (c.stored + c.failed >= expected) return { at: Date.now(), complete: true };
      if (Date.now() > deadline) return { at: Date.now(), complete: false };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async rows(): Promise<ArchiveRow[]> {
    const r = await this.db.query<{ control_id: string; state: string; rec: number; upd: number }>(
      `SELECT control_id, state, extract(epoch FROM received_at) * 1000 AS rec,
              extract(epoch FROM updated_at) * 1000 AS upd
         FROM inbound_message WHERE id > $1 AND control_id LIKE $2`,
      [this.lowId, `${this.tag}%`],
    );
    return r.rows.map((x) => ({
      controlId: x.control_id,
      state: x.state,
      receivedAt: Number(x.rec),
      updatedAt: Number(x.upd),
    }));
  }
}

export interface JobTimes {
  /** Job created → a worker took it (ms). */
  waitMs: number[];
  /** Taken → finished: inbox read, attempt count, the repository write, markStored (ms). */
  runMs: number[];
}

/** BullMQ keeps the last 1,000 completed jobs (removeOnComplete): the phase's, when created after `since`. */
export async function jobTimes(redisUrl: string, prefix: string, since: number): Promise<JobTimes> {
  const queue = new Queue(INGEST_QUEUE, { connection: { url: redisUrl }, prefix });
  try {
    const jobs = await queue.getJobs(['completed'], 0, 999);
    const out: JobTimes = { waitMs: [], runMs: [] };
    for (const j of jobs) {
      if (!j || j.timestamp < since || !j.processedOn || !j.finishedOn) continue;
      out.waitMs.push(j.processedOn - j.timestamp);
      out.runMs.push(j.finishedOn - j.processedOn);
    }
    return out;
  } finally {
    await queue.close();
  }
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU ms of a process tree from /proc: the root's own and reaped children's, plus live children. */
export async function processTreeCpuMs(rootPid: number): Promise<number> {
  const stat = async (pid: string) => {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state ppid … utime(14) stime(15) cutime(16) cstime(17) → indexes 11..14 here.
    return { ppid: Number(f[1]), ticks: f.slice(11, 15).map(Number) };
  };
  const root = await stat(String(rootPid));
  let ticks = root.ticks.reduce((a, b) => a + b, 0);
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === rootPid) continue;
    const s = await stat(pid);
    if (s.ppid === rootPid) ticks += (s.ticks[0] ?? 0) + (s.ticks[1] ?? 0);
  }
  return ticks * TICK_MS;
}

/** The postmaster's pid: the parent of a backend we ask. */
export async function postmasterPid(url: string): Promise<number | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const backend = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const status = await readFile(`/proc/${backend}/status`, 'utf8').catch(() => '');
    const ppid = /PPid:\s+(\d+)/.exec(status)?.[1];
    return ppid ? Number(ppid) : undefined;
  } finally {
    await c.end();
  }
}

/** Redis server CPU (user + sys) in ms; on a shared Redis it includes other clients' work. */
export async function redisCpuMs(redisUrl: string): Promise<number> {
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    const info = await r.info('cpu');
    const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return (get('used_cpu_user') + get('used_cpu_sys')) * 1000;
  } finally {
    r.disconnect();
  }
}

/** Deletes this run's BullMQ keys only (the Redis may be shared). */
export async function clearPrefix(redisUrl: string, prefix: string): Promise<number> {
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let removed = 0;
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) removed += await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return removed;
}
