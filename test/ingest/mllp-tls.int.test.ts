import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../src/kernel/logger.ts';
import {
  frame,
  MllpDecoder,
  sendMllp,
  startMllpListener,
  type MllpListener,
} from '../../src/ingest/mllp/index.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

/** A CA, a server certificate for 127.0.0.1 and client certificates whose CN is an institution id (openssl). */
function makePki(dir: string) {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=County HIE test CA',
  ]);
  const issue = (name: string, cn: string, ext?: string) => {
    run([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    ]);
    const args = [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
    ];
    if (ext) {
      writeFileSync(path.join(dir, `${name}.ext`), ext);
      args.push('-extfile', `${name}.ext`);
    }
    run(args);
  };
  issue('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  issue('cph', 'county-peoples-hospital');
  issue('lab', 'county-shared-lab');
  const read = (f: string) => readFileSync(path.join(dir, f));
  return { read };
}

const adt = (id: string) =>
  Buffer.from(
    `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261101083000||ADT^A04|${id}|P|2.5.1\rEVN|A04|20261101082500\rPID|1||${id}^^^CPH^MR||钱^七||19700101|M\r`,
  );

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'MLLP over TLS on $name',
  (server) => {
    let gw: TestGateway;
    let listener: MllpListener;
    let dir: string;
    let pki: ReturnType<typeof makePki>;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'hie-pki-'));
      pki = makePki(dir);
      // Not the demo: loopback is not allowed by itself, so only the certificate can identify a sender.
      gw = await startTestGateway(server, inject('redisUrl'), { HIE_DEMO_ISSUER: 'off' });
      listener = await startMllpListener({
        port: 0,
        host: '127.0.0.1',
        tls: {
          key: pki.read('server.key'),
          cert: pki.read('server.pem'),
          ca: pki.read('ca.pem'),
          requestCert: true,
        },
        maxMessageBytes: 1 << 20,
        idleTimeoutMs: 10_000,
        logger: silentLogger(),
        handle: gw.acceptMllp,
      });
    });
    afterAll(async () => {
      await listener?.close();
      await gw?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const send = (client: 'cph' | 'lab' | undefined, raw: Buffer) =>
      sendMllp('127.0.0.1', listener.port, raw, {
        tls: {
          ca: pki.read('ca.pem'),
          servername: 'localhost',
          ...(client ? { key: pki.read(`${client}.key`), cert: pki.read(`${client}.pem`) } : {}),
        },
        timeoutMs: 10_000,
      });

    it('accepts the institution its client certificate names, for its own facility', async () => {
      const ack = (await send('cph', adt('TLS001'))).toString();
      expect(ack).toContain('MSA|AA|TLS001');
    });

    it("refuses another institution's certificate for this facility with AR", async () => {
      const ack = (await send('lab', adt('TLS002'))).toString();
      expect(ack).toContain('MSA|AR|TLS002');
      expect(ack).toContain('county-shared-lab');
    });

    it('answers a sender that shuts down its side right after sending', async () => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: listener.port,
        ca: pki.read('ca.pem'),
        servername: 'localhost',
        key: pki.read('cph.key'),
        cert: pki.read('cph.pem'),
      });
      const received: Buffer[] = [];
      socket.on('data', (d: Buffer) => received.push(d));
      await new Promise((r) => socket.once('secureConnect', r));
      socket.end(frame(adt('TLS004')));
      await new Promise((r) => socket.once('close', r));
      const acks = new MllpDecoder(1 << 20).push(Buffer.concat(received)).frames.map((f) => f.toString());
      expect(acks).toHaveLength(1);
      expect(acks[0]).toContain('MSA|AA|TLS004');
    });

    it('refuses a connection without a client certificate', async () => {
      await expect(send(undefined, adt('TLS003'))).rejects.toThrow();
    });
  },
);
