/**
 * Load generation: HTTP (`POST /ingest/hl7v2`, keep-alive sockets) and MLLP (several connections,
 * pipelined), either closed-loop (saturation: a fixed number in flight) or open-loop (a fixed
 * offered rate, each message timed from when it was due, so a slow server cannot hide its queue).
 */
import { MllpClient } from '../../src/ingest/mllp/index.ts';
import { HttpClient } from '../support/http-client.ts';
import type { BenchMessage } from './messages.ts';

export type Transport = 'http' | 'mllp';

export interface Sender {
  /** Resolves with the acknowledgement code (AA, AE, AR, or `HTTP <status>`). */
  send(text: string): Promise<string>;
  close(): Promise<void>;
}

export interface SendRecord {
  controlId: string;
  /** Epoch ms the message was due (open loop) or sent (closed loop). */
  dueAt: number;
  /** Gateway ack latency, ms from sending to the whole answer. */
  ackMs: number;
  code: string;
}

// Original mode (AA/AE/AR) or, with MSH-15 set as the bench's messages set it, enhanced (CA/CE/CR).
const MSA = /MSA\|([AC][AER])/;

export function httpSender(baseUrl: string, token: string, sockets: number): Sender {
  const client = new HttpClient(baseUrl, token, sockets);
  const headers = { 'content-type': 'x-application/hl7-v2+er7; charset=utf-8' };
  return {
    async send(text) {
      const r = await client.request('POST', `${baseUrl}/ingest/hl7v2`, text, headers);
      return r.status === 200 ? (MSA.exec(r.body)?.[1] ?? 'no MSA') : `HTTP ${r.status}`;
    },
    close: async () => client.close(),
  };
}

/** Round-robin over `connections` MLLP connections; each keeps its messages in order. */
export function mllpSender(port: number, connections: number): Sender {
  const clients = Array.from({ length: connections }, () => new MllpClient('127.0.0.1', port));
  let next = 0;
  return {
    async send(text) {
      const c = clients[next++ % clients.length]!;
      const ack = (await c.send(Buffer.from(text, 'utf8'))).toString('utf8');
      return MSA.exec(ack)?.[1] ?? 'no MSA';
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

async function timed(sender: Sender, m: BenchMessage, dueAt: number): Promise<SendRecord> {
  const started = performance.now();
  let code: string;
  try {
    code = await sender.send(m.text);
  } catch (err) {
    code = `error ${(err as Error).message}`;
  }
  return { controlId: m.controlId, dueAt, ackMs: performance.now() - started, code };
}

/** Saturation: `inFlight` senders each take the next message as soon as theirs is answered. */
export async function closedLoop(
  sender: Sender,
  messages: readonly BenchMessage[],
  inFlight: number,
): Promise<SendRecord[]> {
  const records: SendRecord[] = [];
  let i = 0;
  const lane = async () => {
    while (i < messages.length) {
      const m = messages[i++]!;
      records.push(await timed(sender, m, Date.now()));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return records;
}

/** A fixed offered load: message k is due at start + k / rate, sent then whatever is in flight. */
export async function openLoop(
  sender: Sender,
  messages: readonly BenchMessage[],
  ratePerSecond: number,
): Promise<SendRecord[]> {
  const start = Date.now() + 20;
  const pending: Promise<SendRecord>[] = [];
  for (let k = 0; k < messages.length; k++) {
    const due = start + (k * 1000) / ratePerSecond;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(timed(sender, messages[k]!, due));
  }
  return Promise.all(pending);
}
