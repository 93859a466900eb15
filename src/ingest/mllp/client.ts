import net from 'node:net';
import tls from 'node:tls';
import { frame, MllpDecoder } from './framing.ts';

export interface MllpClientOptions {
  /** TLS options (client certificate, CA); plain TCP when absent. */
  tls?: tls.ConnectionOptions;
  /** Per-message wait for the ACK (default 30 s). */
  timeoutMs?: number;
  /** Largest ACK accepted (default 1 MiB). */
  maxMessageBytes?: number;
}

/**
 * One MLLP connection for tests, the demo sender and the benchmark. `send` writes at once and
 * resolves with the ACK; ACKs come back in the order the messages were sent (the listener
 * handles one connection strictly in order), so several sends may be in flight (pipelining).
 */
export class MllpClient {
  private socket?: net.Socket;
  private readonly waiting: {
    resolve: (b: Buffer) => void;
    reject: (e: Error) => void;
    timer: NodeJS.Timeout;
  }[] = [];
  private decoder: MllpDecoder;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: MllpClientOptions = {},
  ) {
    this.decoder = new MllpDecoder(opts.maxMessageBytes ?? 1 << 20);
  }

  private connecting?: Promise<void>;

  /** Connects once; concurrent callers share the one attempt (never two connections). */
  connect(): Promise<void> {
    if (this.socket) return Promise.resolve();
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<void> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = this.opts.tls
        ? tls.connect({ host: this.host, port: this.port, ...this.opts.tls }, () => resolve(s))
        : net.connect({ host: this.host, port: this.port }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      const { frames, overflow } = this.decoder.push(chunk);
      for (const f of frames) this.settle((w) => w.resolve(f));
      if (overflow) this.failAll(new Error('MLLP: acknowledgement too large'));
    });
    socket.on('error', (err) => this.failAll(err));
    socket.on('close', () => {
      this.socket = undefined;
      this.failAll(new Error('MLLP: connection closed before the acknowledgement'));
    });
    this.socket = socket;
  }

  /** Sends one message (raw bytes, unframed) and resolves with the ACK bytes (unframed). */
  async send(raw: Buffer): Promise<Buffer> {
    await this.connect();
    const socket = this.socket!;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failAll(new Error('MLLP: timed out waiting for the acknowledgement'));
        socket.destroy();
      }, this.opts.timeoutMs ?? 30_000);
      this.waiting.push({ resolve, reject, timer });
      socket.write(frame(raw));
    });
  }

  /**
   * Sends one message for which no acknowledgement will come (HL7 enhanced mode, MSH-15 NE):
   * resolves once the bytes are handed to the socket. ACKs are matched to sends by order, so
   * should one come for this message after all, the next `send` resolves with it.
   */
  async sendWithoutAck(raw: Buffer): Promise<void> {
    await this.connect();
    const socket = this.socket!;
    await new Promise<void>((resolve, reject) =>
      socket.write(frame(raw), (err) => (err ? reject(err) : resolve())),
    );
  }

  async close(): Promise<void> {
    const s = this.socket;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
    });
  }

  private settle(fn: (w: (typeof this.waiting)[number]) => void): void {
    const w = this.waiting.shift();
    if (!w) return; // an ACK nobody waits for (after a timeout): ignore
    clearTimeout(w.timer);
    fn(w);
  }

  private failAll(err: Error): void {
    while (this.waiting.length) this.settle((w) => w.reject(err));
  }
}

/** One message on a fresh connection: connect, send, wait for the ACK, close. */
export async function sendMllp(
  host: string,
  port: number,
  raw: Buffer,
  opts: MllpClientOptions = {},
): Promise<Buffer> {
  const client = new MllpClient(host, port, opts);
  try {
    return await client.send(raw);
  } finally {
    await client.close();
  }
}
