import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { frame, MllpClient, startMllpListener, type MllpListener } from '../../../src/ingest/mllp/index.ts';
import { silentLogger } from '../../../src/kernel/logger.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const CPH = 'county-peoples-hospital';

/**
 * An admission from the county people's hospital asking for MSH-15 / MSH-16 (empty: original
 * mode). `birth` lets a test make it a content error (an impossible date in PID-7).
 */
function adt(
  controlId: string,
  msh15: string,
  msh16: string,
  opts: { birth?: string; type?: string; version?: string; facility?: string } = {},
): Buffer {
  const type = opts.type ?? 'ADT^A01^ADT_A01';
  return Buffer.from(
    [
      `MSH|^~\\&|HIS|${opts.facility ?? 'CPH'}|HIE|COUNTY|20261101083000||${type}|${controlId}|P|${opts.version ?? '2.5.1'}|||${msh15}|${msh16}|CHN|UNICODE UTF-8`,
      'EVN|A01|20261101082500',
      `PID|1||${controlId}^^^CPH^MR||王^秀英||${opts.birth ?? '19561231'}|F`,
      `PV1|1|I|NEURO^201^1||||||||||||||||V${controlId}|||||||||||||||||||||||||20261101080000`,
    ].join('\r') + '\r',
    'utf8',
  );
}

/** MSA-1 and MSA-2 of one ACK. */
function msa(ack: Buffer | string): [string, string] {
  const seg = parseHl7(ack.toString()).segment('MSA')!;
  return [seg.get(1), seg.get(2)];
}

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'enhanced-mode acknowledgements through the gateway on $name',
  (server) => {
    let gw: TestGateway;
    let listener: MllpListener;
    let token: string;

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
      listener = await startMllpListener({
        port: 0,
        host: '127.0.0.1',
        maxMessageBytes: gw.config.maxBodyBytes,
        idleTimeoutMs: 30_000,
        logger: silentLogger(),
        handle: gw.acceptMllp,
      });
      token = await gw.institutionToken(CPH);
    });
    afterAll(async () => {
      await listener?.close();
      await gw?.close();
    });

    const postHl7 = (body: Buffer) =>
      fetch(`${gw.publicUrl}/ingest/hl7v2`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'x-application/hl7-v2+er7; charset=UTF-8',
        },
        body,
      });
    /** The archived message for a control id (the sender's own, so exactly one). */
    const archived = async (controlId: string) => {
      const { items } = await gw.inbox.list({ institution: CPH, controlId });
      expect(items).toHaveLength(1);
      return items[0]!;
    };

    describe('over HTTP', () => {
      it('answers CA once stored, with Location, and the worker writes it', async () => {
        const res = await postHl7(adt('EH1', 'AL', 'NE'));
        expect(res.status).toBe(200);
        expect(msa(await res.text())).toEqual(['CA', 'EH1']);
        const id = res.headers.get('location')!.split('/').pop()!;
        expect((await gw.settled(id))?.state).toBe('stored');
      });

      it('still answers MSH-15 NE (a response is due), with CA', async () => {
        const res = await postHl7(adt('EH2', 'NE', 'NE'));
        expect(res.status).toBe(200);
        expect(msa(await res.text())).toEqual(['CA', 'EH2']);
      });

      it('CE for a content error, kept as failed', async () => {
        const res = await postHl7(adt('EH3', 'ER', 'AL', { birth: '19561399' }));
        expect(res.status).toBe(200);
        const ack = await res.text();
        expect(msa(ack)).toEqual(['CE', 'EH3']);
        expect(parseHl7(ack).segment('ERR')!.get(2)).toBe('PID');
        expect((await archived('EH3')).state).toBe('failed');
      });

      it('CR for an unsupported event and for a version the parser refuses', async () => {
        const oru = await postHl7(adt('EH4', 'AL', 'AL', { type: 'ORU^R02' }));
        expect(msa(await oru.text())).toEqual(['CR', 'EH4']);
        const old = await postHl7(adt('EH5', 'AL', '', { version: '2.2' }));
        expect(msa(await old.text())[0]).toBe('CR');
      });

      it('original mode (MSH-15/16 empty) is unchanged: AA', async () => {
        const res = await postHl7(adt('EH6', '', ''));
        expect(msa(await res.text())).toEqual(['AA', 'EH6']);
      });
    });

    describe('over MLLP', () => {
      it('MSH-15 NE: stores, sends nothing, and keeps the connection', async () => {
        const client = new MllpClient('127.0.0.1', listener.port, { timeoutMs: 15_000 });
        try {
          await client.sendWithoutAck(adt('EM1', 'NE', 'NE'));
          // Handled in order on one connection: an ACK for EM1 would come first and be taken here.
          expect(msa(await client.send(adt('EM2', 'AL', 'NE')))).toEqual(['CA', 'EM2']);
          expect((await archived('EM1')).state).not.toBe('failed');
        } finally {
          await client.close();
        }
      });

      it('MSH-15 ER answers only an error; SU answers only a success', async () => {
        const client = new MllpClient('127.0.0.1', listener.port, { timeoutMs: 15_000 });
        try {
          await client.sendWithoutAck(adt('EM3', 'ER', '')); // a success: no answer
          await client.sendWithoutAck(adt('EM4', 'SU', '', { birth: '19561399' })); // an error: no answer
          expect(msa(await client.send(adt('EM5', 'ER', '', { birth: '19561399' })))).toEqual(['CE', 'EM5']);
          expect(msa(await client.send(adt('EM6', 'SU', '')))).toEqual(['CA', 'EM6']);
          expect((await archived('EM3')).state).not.toBe('failed');
          expect((await archived('EM4')).state).toBe('failed');
        } finally {
          await client.close();
        }
      });

      it('original mode over MLLP is unchanged: AA', async () => {
        const client = new MllpClient('127.0.0.1', listener.port, { timeoutMs: 15_000 });
        try {
          expect(msa(await client.send(adt('EM7', '', '')))).toEqual(['AA', 'EM7']);
        } finally {
          await client.close();
        }
      });

      it('a refused sender: CR when it wants errors; closed connection when it wants none', async () => {
        const client = new MllpClient('127.0.0.1', listener.port, { timeoutMs: 15_000 });
        try {
          expect(msa(await client.send(adt('EM8', 'ER', '', { facility: 'NOPE' })))).toEqual(['CR', 'EM8']);
        } finally {
          await client.close();
        }
        // Not stored and not answered: the closed connection is the only sign left to resend.
        const socket = net.connect({ host: '127.0.0.1', port: listener.port });
        await new Promise((r) => socket.once('connect', r));
        const received: Buffer[] = [];
        socket.on('data', (d: Buffer) => received.push(d));
        const closed = new Promise<void>((r) => socket.once('close', () => r()));
        socket.write(frame(adt('EM9', 'NE', '', { facility: 'NOPE' })));
        await closed;
        expect(received).toHaveLength(0);
        expect((await gw.inbox.list({ controlId: 'EM9' })).items).toHaveLength(0);
      });

      it('a frame without any MSH gets AR: no sending facility, so nothing is kept', async () => {
        const client = new MllpClient('127.0.0.1', listener.port, { timeoutMs: 15_000 });
        try {
          const ack = await client.send(Buffer.from('PID|1||NOMSH1^^^CPH^MR\r'));
          expect(msa(ack)[0]).toBe('AR');
          expect(parseHl7(ack.toString()).segment('ERR')!.get(3)).toBe('204');
        } finally {
          await client.close();
        }
      });
    });
  },
);
