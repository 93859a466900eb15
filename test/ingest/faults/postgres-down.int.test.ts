import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../../src/db/database.ts';
import { MllpClient, startMllpListener, type MllpListener } from '../../../src/ingest/mllp/index.ts';
import { silentLogger } from '../../../src/kernel/logger.ts';
import { freePort } from '../../support/free-port.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';
import { countByState, repositoryCounts, waitFor } from '../../queue/support/harness.ts';
import { adtA01, CGCHC, CPH, MRN_SYSTEM, readAck, SOURCE_ID_SYSTEM, VISIT_SYSTEM } from './support/hl7.ts';
import { startRestartablePostgres, type RestartablePostgres } from './support/restartable-postgres.ts';

/**
 * CONTRACTS "Inbound answers": a message is acknowledged only once it is committed; storage down
 * → HL7 AR with ERR-3 = 207 (HTTP 503), FHIR 503 `transient`. PostgreSQL is stopped for 30 s
 * while three senders keep sending, then started again under the running gateway.
 */
const OUTAGE_MS = 30_000;
/** Pause between two sends of one sender (each sender waits for its answer first). */
const PAUSE_MS = 40;
/** "Within a few seconds": how long after PostgreSQL is back the first AA/202 may take. */
const RECOVERY_MS = 5_000;

type Channel = 'hl7-http' | 'mllp' | 'fhir';
type Result = 'accepted' | 'refused' | 'broken';

interface Attempt {
  channel: Channel;
  /** HL7: the control id (= MRN); FHIR: the Patient's logical id (→ the source-id identifier). */
  key: string;
  sentAt: number;
  answeredAt: number;
  result: Result;
  /** What came back, for the failure message when `broken`. */
  detail: string;
}

const redisUrl = inject('redisUrl');

describe('PostgreSQL stopped for 30 s under a steady stream', () => {
  let pg: RestartablePostgres;
  let gw: TestGateway;
  let mllp: MllpListener;
  let mllpPort: number;
  let token: { cph: string; cgchc: string };

  beforeAll(async () => {
    pg = await startRestartablePostgres();
    gw = await startTestGateway(pg.server, redisUrl);
    mllpPort = await freePort();
    mllp = await startMllpListener({
      port: mllpPort,
      host: '127.0.0.1',
      maxMessageBytes: gw.config.maxBodyBytes,
      idleTimeoutMs: 60_000,
      logger: silentLogger(),
      handle: gw.acceptMllp,
    });
    token = { cph: await gw.institutionToken(CPH), cgchc: await gw.institutionToken(CGCHC) };
  });
  afterAll(async () => {
    await mllp?.close();
    await gw?.close();
    await pg?.destroy();
  });

  /** One send, judged by the contract. Never throws: a failure to answer is a `broken` result. */
  async function sendHl7Http(key: string): Promise<Omit<Attempt, 'sentAt' | 'answeredAt'>> {
    const base = { channel: 'hl7-http' as const, key };
    try {
      const res = await fetch(`${gw.publicUrl}/ingest/hl7v2`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token.cph}`,
          'content-type': 'x-application/hl7-v2+er7; charset=UTF-8',
        },
        body: adtA01(key),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      const ack = readAck(text);
      if (res.status === 200 && ack?.code === 'AA' && ack.controlId === key)
        return { ...base, result: 'accepted', detail: 'AA' };
      if (res.status === 503 && ack?.code === 'AR' && ack.controlId === key && ack.errorCodes.includes('207'))
        return { ...base, result: 'refused', detail: 'AR/207' };
      return { ...base, result: 'broken', detail: `HTTP ${res.status}: ${text.slice(0, 200)}` };
    } catch (err) {
      return { ...base, result: 'broken', detail: `no answer: ${(err as Error).message}` };
    }
  }

  let mllpClient: MllpClient | undefined;
  async function closeMllp(): Promise<void> {
    const c = mllpClient;
    mllpClient = undefined;
    await c?.close().catch(() => undefined);
  }
  async function sendMllp(key: string): Promise<Omit<Attempt, 'sentAt' | 'answeredAt'>> {
    const base = { channel: 'mllp' as const, key };
    mllpClient ??= new MllpClient('127.0.0.1', mllpPort, { timeoutMs: 15_000 });
    try {
      const text = (await mllpClient.send(adtA01(key))).toString('utf8');
      const ack = readAck(text);
      if (ack?.code === 'AA' && ack.controlId === key) return { ...base, result: 'accepted', detail: 'AA' };
      if (ack?.code === 'AR' && ack.controlId === key && ack.errorCodes.includes('207'))
        return { ...base, result: 'refused', detail: 'AR/207' };
      return { ...base, result: 'broken', detail: `ACK ${text.slice(0, 200)}` };
    } catch (err) {
      // The connection is unusable after a failure: the next message goes on a new one.
      await closeMllp();
      return { ...base, result: 'broken', detail: `no ACK: ${(err as Error).message}` };
    }
  }

  async function sendFhir(key: string): Promise<Omit<Attempt, 'sentAt' | 'answeredAt'>> {
    const base = { channel: 'fhir' as const, key };
    const patient = { resourceType: 'Patient', id: key, name: [{ text: '李秀兰' }], gender: 'female' };
    try {
      const res = await fetch(`${gw.publicUrl}/ingest/fhir`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.cgchc}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(patient),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json().catch(() => undefined)) as
        { resourceType?: string; issue?: { code?: string }[] } | undefined;
      if (res.status === 202 && body?.resourceType === 'OperationOutcome')
        return { ...base, result: 'accepted', detail: '202' };
      if (
        res.status === 503 &&
        body?.resourceType === 'OperationOutcome' &&
        body.issue?.some((i) => i.code === 'transient')
      )
        return { ...base, result: 'refused', detail: '503 transient' };
      return {
        ...base,
        result: 'broken',
        detail: `HTTP ${res.status}: ${JSON.stringify(body).slice(0, 200)}`,
      };
    } catch (err) {
      return { ...base, result: 'broken', detail: `no answer: ${(err as Error).message}` };
    }
  }

  it(
    'answers 503 / AR 207 while it is down, never AA/202, and recovers without a restart',
    { timeout: 420_000 },
    async () => {
      const attempts: Attempt[] = [];
      const readyz: { at: number; status: number; postgres: string }[] = [];
      let sending = true;
      const stream = async (
        prefix: string,
        send: (key: string) => Promise<Omit<Attempt, 'sentAt' | 'answeredAt'>>,
      ) => {
        for (let n = 1; sending; n++) {
          const sentAt = Date.now();
          const a = await send(`${prefix}${n}`);
          attempts.push({ ...a, sentAt, answeredAt: Date.now() });
          await sleep(PAUSE_MS);
        }
      };
      const probe = async () => {
        while (sending) {
          const at = Date.now();
          const res = await fetch(`${gw.publicUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
          const body = (await res.json()) as { checks?: Record<string, string> };
          readyz.push({ at, status: res.status, postgres: body.checks?.postgres ?? '' });
          await sleep(500);
        }
      };
      const accepted = (c: Channel, after = 0) =>
        attempts.filter((a) => a.channel === c && a.result === 'accepted' && a.sentAt >= after).length;
      const senders = Promise.all([
        stream('PGH', sendHl7Http),
        stream('PGM', sendMllp),
        stream('pgf-', sendFhir),
        probe(),
      ]);

      // Warm: every sender has been acknowledged a few times.
      await waitFor(
        'every sender acknowledged',
        async () => (['hl7-http', 'mllp', 'fhir'] as const).every((c) => accepted(c) >= 10),
        30_000,
        50,
      );
      const tStop = Date.now();
      await pg.stop();
      const tDown = Date.now();
      await sleep(Math.max(0, tStop + OUTAGE_MS - Date.now()));
      const tStart = Date.now();
      await pg.start();
      const tUp = Date.now();
      // The same gateway, not restarted: each sender is acknowledged again, a good while after.
      await waitFor(
        'every sender acknowledged again',
        async () =>
          Date.now() - tUp > RECOVERY_MS + 2_000 &&
          (['hl7-http', 'mllp', 'fhir'] as const).every((c) => accepted(c, tUp) >= 10),
        60_000,
        50,
      );
      sending = false;
      await senders;
      await closeMllp();

      const db = gw.database.db;
      const byChannel = (c: Channel) => attempts.filter((a) => a.channel === c);

      // 1. Every answer is one the contract allows. Fails today (known bugs): once the institution
      // registry's 5 s cache has expired, HL7 over HTTP answers a 503 OperationOutcome instead of an
      // AR/207 ACK and MLLP drops the connection without an ACK (the registry lookup throws before
      // the stage's storage-down answer); and a transaction's checked-out pg client emits an
      // uncaught 'error' when PostgreSQL goes away (src/db/database.ts `transaction`).

      expect(
        attempts.filter((a) => a.result === 'broken').map((a) => `${a.channel} ${a.key}: ${a.detail}`),
      ).toEqual([]);

      // 2. While it is down: refused, every one, on every channel — never an AA/202.
      const whileDown = attempts.filter((a) => a.sentAt >= tDown && a.answeredAt <= tStart);
      expect(whileDown.filter((a) => a.result !== 'refused')).toEqual([]);
      for (const c of ['hl7-http', 'mllp', 'fhir'] as const)
        expect(whileDown.filter((a) => a.channel === c).length).toBeGreaterThan(50);
      // Nothing sent after the server's exit was answered AA/202 before its start either. A message
      // sent while it was stopping may be answered AA a moment after the exit: its insert committed
      // before the server went (step 5 finds every acknowledged message stored).
      expect(
        attempts.filter(
          (a) =>
            a.result === 'accepted' && a.sentAt >= tDown && a.answeredAt > tDown && a.answeredAt < tStart,
        ),
      ).toEqual([]);

      // 3. /readyz: PostgreSQL unavailable (503) throughout, ready again afterwards.
      const readyDown = readyz.filter((r) => r.at >= tDown && r.at + 2_500 <= tStart);
      expect(readyDown.length).toBeGreaterThan(20);
      expect(readyDown.filter((r) => r.status !== 503 || !r.postgres.startsWith('unavailable'))).toEqual([]);
      const readyAfter = await fetch(`${gw.publicUrl}/readyz`);
      expect(readyAfter.status).toBe(200);
      expect(await readyAfter.json()).toMatchObject({ status: 'ready', checks: { postgres: 'ok' } });

      // 4. Recovery without a restart: acknowledged again within a few seconds, and from then on always.
      const recovery: Record<string, number> = {};
      for (const c of ['hl7-http', 'mllp', 'fhir'] as const) {
        const first = byChannel(c).find((a) => a.sentAt >= tUp && a.result === 'accepted');
        expect(first, `${c} acknowledged again`).toBeDefined();
        recovery[c] = first!.answeredAt - tUp;
        expect(recovery[c]).toBeLessThan(RECOVERY_MS);
        expect(byChannel(c).filter((a) => a.sentAt >= tUp + RECOVERY_MS && a.result !== 'accepted')).toEqual(
          [],
        );
      }

      // 5. Every acknowledged message reaches `stored`; no refused one was archived.
      const acked = (c: Channel) =>
        byChannel(c)
          .filter((a) => a.result === 'accepted')
          .map((a) => a.key);
      const refused = (c: Channel) =>
        byChannel(c)
          .filter((a) => a.result === 'refused')
          .map((a) => a.key);
      const ackedHl7 = [...acked('hl7-http'), ...acked('mllp')];
      const refusedHl7 = [...refused('hl7-http'), ...refused('mllp')];
      await waitFor(
        'every archived message stored',
        async () =>
          (await countByState(db, CPH)).queued === undefined &&
          (await countByState(db, CGCHC)).queued === undefined,
        // Generous: every message also goes through identity, and this machine runs other tests.
        150_000,
        250,
      );
      expect(await countByState(db, CPH)).toEqual({ stored: ackedHl7.length });
      expect(await countByState(db, CGCHC)).toEqual({ stored: acked('fhir').length });
      expect(new Set(await controlIds(db, CPH))).toEqual(new Set(ackedHl7));

      // 6. …exactly once in the repository, and nothing of a refused message was written.
      const mrns = await identifierCounts(db, 'Patient', MRN_SYSTEM);
      const visits = await identifierCounts(db, 'Encounter', VISIT_SYSTEM);
      const sourceIds = await identifierCounts(db, 'Patient', SOURCE_ID_SYSTEM);
      expect(mrns).toEqual(Object.fromEntries(ackedHl7.map((k) => [k, 1])));
      expect(visits).toEqual(Object.fromEntries(ackedHl7.map((k) => [`V${k}`, 1])));
      expect(sourceIds).toEqual(Object.fromEntries(acked('fhir').map((k) => [k, 1])));
      expect(await repositoryCounts(db, CPH)).toMatchObject({
        patients: ackedHl7.length,
        encounters: ackedHl7.length,
        provenances: ackedHl7.length,
      });
      expect(refusedHl7.filter((k) => k in mrns)).toEqual([]);
      expect(refused('fhir').filter((k) => k in sourceIds)).toEqual([]);

      // 7. "Resend later" works: every refused message, sent again, is accepted and stored once.
      const resent: Attempt[] = [];
      const again = async (c: Channel, keys: string[], send: typeof sendFhir) => {
        for (const key of keys) {
          const sentAt = Date.now();
          resent.push({ ...(await send(key)), sentAt, answeredAt: Date.now() });
        }
      };
      await Promise.all([
        again('hl7-http', refused('hl7-http'), sendHl7Http),
        again('mllp', refused('mllp'), sendMllp),
        again('fhir', refused('fhir'), sendFhir),
      ]);
      await closeMllp();
      expect(resent.filter((a) => a.result !== 'accepted')).toEqual([]);
      const allHl7 = [...byChannel('hl7-http'), ...byChannel('mllp')].map((a) => a.key);
      const allFhir = byChannel('fhir').map((a) => a.key);
      await waitFor(
        'the resent messages stored',
        async () =>
          (await countByState(db, CPH)).stored === allHl7.length &&
          (await countByState(db, CGCHC)).stored === allFhir.length,
        // Generous: every message also goes through identity, and this machine runs other tests.
        150_000,
        250,
      );
      expect(await countByState(db, CPH)).toEqual({ stored: allHl7.length });
      expect(await countByState(db, CGCHC)).toEqual({ stored: allFhir.length });
      expect(await identifierCounts(db, 'Patient', MRN_SYSTEM)).toEqual(
        Object.fromEntries(allHl7.map((k) => [k, 1])),
      );
      expect(await identifierCounts(db, 'Patient', SOURCE_ID_SYSTEM)).toEqual(
        Object.fromEntries(allFhir.map((k) => [k, 1])),
      );

      const summary = Object.fromEntries(
        (['hl7-http', 'mllp', 'fhir'] as const).map((c) => [
          c,
          {
            sent: byChannel(c).length,
            accepted: acked(c).length,
            refused: refused(c).length,
            recoveryMs: recovery[c],
          },
        ]),
      );
      console.info(
        `[postgres-down] outage ${tStart - tStop} ms (stop took ${tDown - tStop} ms, start ${tUp - tStart} ms); ` +
          `readyz probes while down: ${readyDown.length}; ${JSON.stringify(summary)}`,
      );
    },
  );
});

/** value → number of live resources of `type` carrying an identifier of `system` with that value. */
async function identifierCounts(db: Database, type: string, system: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ value: string; n: number }>(
    `SELECT t.value, count(DISTINCT r.id)::int AS n
       FROM sp_token t JOIN resource r ON r.resource_type = t.resource_type AND r.id = t.resource_id
      WHERE t.resource_type = $1 AND t.code = 'identifier' AND t.system = $2 AND NOT r.deleted
      GROUP BY t.value`,
    [type, system],
  );
  return Object.fromEntries(rows.map((r) => [r.value, r.n]));
}

async function controlIds(db: Database, institution: string): Promise<string[]> {
  const { rows } = await db.query<{ control_id: string }>(
    'SELECT control_id FROM inbound_message WHERE institution = $1',
    [institution],
  );
  return rows.map((r) => r.control_id);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
