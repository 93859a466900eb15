import http from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface Reply {
  status: number;
  body: string;
  /** Wall time from sending to the last byte of the body (and its decompression). */
  ms: number;
  /** Bytes on the wire (compressed, when the server compressed). */
  wireBytes: number;
  contentEncoding?: string;
}

/**
 * A minimal keep-alive HTTP client with the bearer token set: node:http directly, so the load
 * generator adds as little of its own CPU and latency as it can on a box it shares with the server.
 */
export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  request(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.attempt(method, url, body, headers, true, true);
  }

  /**
   * The same request, reading every byte of the answer but leaving it undecoded (`body` is
   * empty): for throughput levels where the load generator shares the machine's cores with the
   * server, as wrk and autocannon do — a clinician's browser decodes on the clinician's machine.
   * `wire` holds the bytes as received, for a caller that checks a sample of them.
   */
  requestRaw(
    method: string,
    url: string,
    headers: Record<string, string> = {},
  ): Promise<Reply & { wire: Buffer }> {
    return this.attempt(method, url, undefined, headers, true, false) as Promise<Reply & { wire: Buffer }>;
  }

  private attempt(
    method: string,
    url: string,
    body: string | undefined,
    headers: Record<string, string>,
    mayRetry: boolean,
    decode: boolean,
  ): Promise<Reply> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/fhir+json',
            ...(body === undefined
              ? {}
              : { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(body) }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const wire = Buffer.concat(chunks);
            const encoding = res.headers['content-encoding'];
            // A client that asked for gzip decodes it, as browsers and FHIR clients do.
            const bytes = !decode ? undefined : encoding === 'gzip' ? gunzipSync(wire) : wire;
            resolve({
              status: res.statusCode ?? 0,
              body: bytes ? bytes.toString('utf8') : '',
              ...(decode ? {} : { wire }),
              ms: performance.now() - started,
              wireBytes: wire.length,
              ...(encoding ? { contentEncoding: encoding } : {}),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // Almost always the server closing an idle keep-alive socket just as we reused it, so the
        // app never saw the request: send it once more on a fresh socket (Node's documented remedy).
        if (mayRetry && req.reusedSocket && err.code === 'ECONNRESET') {
          this.attempt(method, url, body, headers, false, decode).then(resolve, reject);
        } else reject(err);
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
