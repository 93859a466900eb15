import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/kernel/logger.ts';
import {
  frame,
  MllpClient,
  MllpDecoder,
  sendMllp,
  startMllpListener,
  type MllpHandler,
  type MllpListener,
} from '../../../src/ingest/mllp/index.ts';

const msg = (id: string) =>
  Buffer.from(`MSH|^~\\&|HIS|XQWSY|HIE|COUNTY|20240301||ADT^A01|${id}|P|2.5.1\rPID|1||M1^^^^MR||张^三\r`);
const ackFor = (raw: Buffer) => Buffer.from(`ACK ${/\|ADT\^A01\|([^|]+)\|/.exec(raw.toString())![1]}`);

let listener: MllpListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

async function start(handle: MllpHandler, maxMessageBytes = 1 << 20) {
  listener = await startMllpListener({
    port: 0,
    host: '127.0.0.1',
    maxMessageBytes,
    idleTimeoutMs: 5000,
    logger: silentLogger(),
    handle,
  });
  return listener.port;
}

/** A raw socket collecting every byte, for tests that control chunking. */
async function rawSocket(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => socket.once('connect', r));
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const frames = () => {
    const dec = new MllpDecoder(1 << 20);
    return dec.push(Buffer.concat(received)).frames.map((f) => f.toString());
  };
  return { socket, frames, closed };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('MLLP framing', () => {
  it('decodes frames split across chunks, several per chunk, ignoring garbage outside frames', () => {
    const dec = new MllpDecoder(1000);
    const a = frame(msg('A'));
    const b = frame(msg('B'));
    const all = Buffer.concat([Buffer.from('noise\r\n'), a, b]);
    const got: string[] = [];
    for (let i = 0; i < all.length; i += 7)
      got.push(...dec.push(all.subarray(i, i + 7)).frames.map((f) => f.toString()));
    expect(got).toEqual([msg('A').toString(), msg('B').toString()]);
    expect(new MllpDecoder(10).push(a).overflow).toBe(true);
  });

  it('reads an over-size frame through to its end, keeping its start, in order with the others', () => {
    const dec = new MllpDecoder(100, { keepOversize: { headBytes: 40, giveUpAfter: 10_000 } });
    const big = Buffer.from('MSH|' + 'x'.repeat(496));
    const all = Buffer.concat([frame(msg('A')), frame(big), frame(msg('B'))]);
    expect(msg('B').length).toBeLessThan(100);
    const events: string[] = [];
    for (let i = 0; i < all.length; i += 33) {
      const r = dec.push(all.subarray(i, i + 33));
      expect(r.overflow).toBe(false);
      let next = 0;
      for (const o of r.oversize) {
        for (; next < o.before; next++) events.push(`frame ${r.frames[next]!.length}`);
        events.push(`oversize ${o.size} ${o.head.toString()}`);
      }
      for (; next < r.frames.length; next++) events.push(`frame ${r.frames[next]!.length}`);
    }
    expect(events).toEqual([
      `frame ${msg('A').length}`,
      `oversize 500 ${big.subarray(0, 40).toString()}`,
      `frame ${msg('B').length}`,
    ]);
  });

  it('still overflows when an over-size frame runs on past what is read through', () => {
    const dec = new MllpDecoder(100, { keepOversize: { headBytes: 40, giveUpAfter: 1000 } });
    expect(dec.push(Buffer.concat([Buffer.of(0x0b), Buffer.alloc(900, 0x41)])).overflow).toBe(false);
    expect(dec.push(Buffer.alloc(200, 0x41)).overflow).toBe(true);
  });
});

describe('MLLP listener and client', () => {
  it('answers two messages on one connection in order, the slow first one first', async () => {
    const order: string[] = [];
    const port = await start(async (raw) => {
      const ack = ackFor(raw);
      if (ack.toString() === 'ACK A') await new Promise((r) => setTimeout(r, 150));
      order.push(ack.toString());
      return ack;
    });
    const client = new MllpClient('127.0.0.1', port);
    const [a, b] = await Promise.all([client.send(msg('A')), client.send(msg('B'))]);
    expect([a.toString(), b.toString()]).toEqual(['ACK A', 'ACK B']);
    expect(order).toEqual(['ACK A', 'ACK B']);
    await client.close();
  });

  it('writes the ACK only after handle resolves', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const port = await start(async (raw) => {
      await gate;
      return ackFor(raw);
    });
    const s = await rawSocket(port);
    s.socket.write(frame(msg('SLOW')));
    await new Promise((r) => setTimeout(r, 200));
    expect(s.frames()).toEqual([]); // still storing: no ACK yet
    release();
    await until(() => s.frames().length === 1);
    expect(s.frames()).toEqual(['ACK SLOW']);
    s.socket.destroy();
  });

  it('handles a message split across TCP chunks and two messages in one chunk', async () => {
    const seen: string[] = [];
    const port = await start(async (raw) => {
      seen.push(raw.toString());
      return ackFor(raw);
    });
    const s = await rawSocket(port);
    const one = frame(msg('S1'));
    for (const part of [one.subarray(0, 5), one.subarray(5, 40), one.subarray(40)]) {
      s.socket.write(part);
      await new Promise((r) => setTimeout(r, 20));
    }
    s.socket.write(Buffer.concat([frame(msg('T1')), frame(msg('T2'))]));
    await until(() => s.frames().length === 3);
    expect(s.frames()).toEqual(['ACK S1', 'ACK T1', 'ACK T2']);
    expect(seen[0]).toBe(msg('S1').toString()); // bytes intact, 张三 included
    s.socket.destroy();
  });

  it('answers every message a sender sent before shutting down its side, then closes', async () => {
    // A script piping a file into socat or nc sends its messages and half-closes at once.
    const port = await start(async (raw) => {
      await new Promise((r) => setTimeout(r, 50)); // still storing when the sender's FIN arrives
      return ackFor(raw);
    });
    const s = await rawSocket(port);
    s.socket.end(Buffer.concat([frame(msg('H1')), frame(msg('H2'))]));
    await s.closed;
    expect(s.frames()).toEqual(['ACK H1', 'ACK H2']);
  });

  it('answers a message over the maximum size from its start, then goes on with the next', async () => {
    const calls: { head: string; size?: number }[] = [];
    const port = await start(async (raw, _peer, oversize) => {
      calls.push({ head: raw.toString(), ...(oversize ? { size: oversize.size } : {}) });
      return oversize ? Buffer.from(`AR ${oversize.size}`) : ackFor(raw);
    }, 200);
    const s = await rawSocket(port);
    const big = Buffer.concat([msg('BIG'), Buffer.alloc(500, 0x41)]);
    s.socket.write(Buffer.concat([frame(big), frame(msg('N1'))]));
    await until(() => s.frames().length === 2);
    expect(s.frames()).toEqual([`AR ${big.length}`, 'ACK N1']);
    expect(calls[0]).toEqual({ head: big.toString(), size: big.length }); // all of it: under 64 KiB
    expect(calls[1]!.size).toBeUndefined();
    expect(s.socket.destroyed).toBe(false);
    s.socket.destroy();
  });

  it('closes the connection when a message runs on far past the maximum size', async () => {
    let calls = 0;
    const port = await start(async (raw) => {
      calls++;
      return ackFor(raw);
    }, 200);
    const s = await rawSocket(port);
    // More than four times the maximum plus 1 MiB, and no end block.
    s.socket.write(Buffer.concat([Buffer.of(0x0b), Buffer.alloc((1 << 20) + 2000, 0x41)]));
    await s.closed;
    expect(calls).toBe(0);
  });

  it('sendMllp sends one message on a fresh connection', async () => {
    const port = await start(async (raw) => ackFor(raw));
    expect((await sendMllp('127.0.0.1', port, msg('ONE'))).toString()).toBe('ACK ONE');
  });
});
