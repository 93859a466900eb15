/**
 * How a failed request to the repository is sorted, on real sockets through fhir-kit-client (the
 * worker's client): the worker waits out a repository it cannot reach without spending the
 * message's attempts, but a request that may have reached the server still counts.
 */
import net from 'node:net';
import http from 'node:http';
import { Client } from 'fhir-kit-client';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyRequestError } from '../../src/queue/write-errors.ts';
import { freePort } from '../support/free-port.ts';

const servers: (net.Server | http.Server)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listening<S extends net.Server>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** What one POST of the worker's kind came to, sorted. */
async function sortedFailure(baseUrl: string) {
  const client = new Client({ baseUrl });
  const err = await client.httpClient.post('/', '{"resourceType":"Bundle"}', {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the request should have failed').toBeDefined();
  const sorted = classifyRequestError(err);
  return { kind: sorted.kind, code: sorted.code, status: sorted.status, unreached: sorted.unreached };
}

describe('classifyRequestError', () => {
  it('marks a refused connection as never reaching the repository', async () => {
    const port = await freePort(); // nothing listens there
    for (const host of ['127.0.0.1', 'localhost'])
      expect(await sortedFailure(`http://${host}:${port}/fhir`)).toEqual({
        kind: 'transient',
        code: 'HIE-WRITE-UNREACHABLE',
        status: undefined,
        unreached: true,
      });
  });

  it('marks a host name that does not resolve as never reaching it', async () => {
    expect(await sortedFailure('http://county-hie-repository.invalid/fhir')).toMatchObject({
      kind: 'transient',
      unreached: true,
    });
  });

  it('counts a connection reset after the request was sent: the message may be what broke it', async () => {
    const port = await listening(net.createServer((socket) => socket.once('data', () => socket.destroy())));
    expect(await sortedFailure(`http://127.0.0.1:${port}/fhir`)).toEqual({
      kind: 'transient',
      code: 'HIE-WRITE-UNREACHABLE',
      status: undefined,
      unreached: false,
    });
  });

  it('keeps statuses: 503 is transient, 422 permanent, neither unreached', async () => {
    for (const [status, kind] of [
      [503, 'transient'],
      [422, 'permanent'],
    ] as const) {
      const port = await listening(
        http.createServer((req, res) => {
          req.resume();
          req.on('end', () => {
            res.writeHead(status, { 'content-type': 'application/fhir+json' });
            res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }));
          });
        }),
      );
      expect(await sortedFailure(`http://127.0.0.1:${port}/fhir`)).toMatchObject({
        kind,
        status,
        unreached: false,
      });
    }
  });
});
