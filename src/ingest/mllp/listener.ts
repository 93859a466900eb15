import net from 'node:net';
import tls from 'node:tls';
import { TRUNCATED_HEAD_BYTES } from '../../inbox/postgres-inbox.ts';
import type { Logger } from '../../kernel/logger.ts';
import { frame, MllpDecoder } from './framing.ts';

export interface MllpPeer {
  address: string;
  /** The verified TLS client certificate, when TLS with client certificates is on. */
  certificate?: object;
}

export interface MllpListenerOptions {
  port: number;
  host?: string;
  tls?: {
    key: string | Buffer;
    cert: string | Buffer;
    ca?: string | Buffer | (string | Buffer)[];
    requestCert?: boolean;
  };
  maxMessageBytes: number;
  idleTimeoutMs: number;
  logger: Logger;
  /**
   * Stores the message and returns the ACK bytes; the ACK is written only once this resolves.
   * An empty buffer writes nothing (HL7 enhanced mode: the sender asked for no acknowledgement)
   * and the connection stays open; a rejection closes the connection.
   */
  handle: MllpHandler;
}

export type MllpHandler = (raw: Buffer, peer: MllpPeer, oversize?: Oversize) => Promise<Buffer>;

/**
 * Given to `handle` for a message over `maxMessageBytes`: `raw` is then only its first
 * `TRUNCATED_HEAD_BYTES`, and `size` the whole message's. The handler answers it (AR) like any
 * refused message, so the sender moves on instead of resending it for ever.
 */
export interface Oversize {
  size: number;
}

export interface MllpListener {
  port: number;
  /** Stops accepting, lets every connection finish the messages it received, then closes. */
  close(): Promise<void>;
}

/** Frames queued per connection before reading pauses (a sender pipelining too far ahead). */
const MAX_QUEUED = 32;

export async function startMllpListener(opts: MllpListenerOptions): Promise<MllpListener> {
  const conns = new Set<Connection>();
  const onSocket = (socket: net.Socket | tls.TLSSocket) => {
    const c = new Connection(socket, opts, () => conns.delete(c));
    conns.add(c);
  };
  // Half-open: a sender may send its messages and then shut down its side of the connection (a
  // script piping a file into socat or nc does); its ACKs must still reach it. Without this, Node
  // closes our side at the sender's FIN and the ACKs of messages being stored are dropped.
  const server = opts.tls
    ? tls.createServer(
        {
          allowHalfOpen: true,
          key: opts.tls.key,
          cert: opts.tls.cert,
          ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
          requestCert: opts.tls.requestCert ?? false,
          rejectUnauthorized: opts.tls.requestCert ?? false,
        },
        onSocket,
      )
    : net.createServer({ allowHalfOpen: true }, onSocket);
  server.on('tlsClientError', (err) => opts.logger.warn({ err: err.message }, 'mllp: TLS handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : opts.port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...conns].map((c) => c.drainAndEnd()));
      await closed;
    },
  };
}

/**
 * One connection: frames are handled strictly one after another in arrival order, and each
 * ACK is written only after `handle` resolved (the gateway stores before it answers).
 */
class Connection {
  private readonly decoder: MllpDecoder;
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private readonly peer: MllpPeer;
  private closed = false;
  /** Closing after an oversize message: read nothing more. */
  private refusing = false;

  constructor(
    private readonly socket: net.Socket | tls.TLSSocket,
    private readonly opts: MllpListenerOptions,
    onClose: () => void,
  ) {
    // An over-size message is read through to its end and answered; one that runs on past
    // several times the maximum (or never ends) closes the connection instead.
    this.decoder = new MllpDecoder(opts.maxMessageBytes, {
      keepOversize: { headBytes: TRUNCATED_HEAD_BYTES, giveUpAfter: 4 * opts.maxMessageBytes + (1 << 20) },
    });
    const cert =
      socket instanceof tls.TLSSocket && socket.authorized ? socket.getPeerCertificate() : undefined;
    this.peer = {
      address: socket.remoteAddress ?? '',
      ...(cert && Object.keys(cert).length ? { certificate: cert } : {}),
    };
    socket.setTimeout(opts.idleTimeoutMs);
    socket.on('timeout', () => {
      if (this.queued > 0) return; // still working on what it sent: not idle
      this.log('info', 'mllp: idle timeout, closing connection');
      socket.end();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The sender has finished sending: answer what it sent, then close our side too.
    socket.on('end', () => {
      void this.chain.then(() => {
        if (!this.closed) this.socket.end();
      });
    });
    socket.on('error', (err) => this.log('warn', `mllp: socket error: ${err.message}`));
    socket.on('close', () => {
      this.closed = true;
      onClose();
    });
  }

  private log(level: 'info' | 'warn', msg: string, extra: Record<string, unknown> = {}): void {
    this.opts.logger[level]({ peer: this.peer.address, ...extra }, msg);
  }

  private onData(chunk: Buffer): void {
    if (this.refusing) return;
    const { frames, oversize, overflow } = this.decoder.push(chunk);
    let next = 0;
    for (const o of oversize) {
      for (; next < o.before; next++) this.enqueue(frames[next]!);
      this.log('warn', 'mllp: message exceeds the maximum size; answering it from its start', {
        size: o.size,
        maxMessageBytes: this.opts.maxMessageBytes,
      });
      this.enqueue(o.head, { size: o.size });
    }
    for (; next < frames.length; next++) this.enqueue(frames[next]!);
    if (overflow) {
      this.log('warn', 'mllp: message runs on far past the maximum size, closing connection', {
        maxMessageBytes: this.opts.maxMessageBytes,
      });
      // Messages already framed still get their ACKs before the connection goes.
      this.refusing = true;
      this.socket.pause();
      void this.chain.then(() => this.socket.destroy());
    }
  }

  private enqueue(raw: Buffer, oversize?: Oversize): void {
    this.queued++;
    if (this.queued >= MAX_QUEUED) this.socket.pause();
    this.chain = this.chain.then(async () => {
      try {
        if (this.closed) return; // the sender left: it will resend what it got no ACK for
        const ack = await this.opts.handle(raw, this.peer, oversize);
        if (!this.closed && ack.length > 0) this.socket.write(frame(ack));
      } catch (err) {
        // No ACK can be promised for this message: drop the connection so the sender resends.
        this.log('warn', `mllp: handler failed, closing connection: ${(err as Error).message}`);
        this.socket.destroy();
      } finally {
        if (--this.queued < MAX_QUEUED && !this.refusing && !this.socket.destroyed) this.socket.resume();
      }
    });
  }

  async drainAndEnd(): Promise<void> {
    this.socket.pause();
    await this.chain;
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 2000).unref();
    });
  }
}
