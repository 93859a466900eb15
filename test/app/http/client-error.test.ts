import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainClientErrors } from '../../../src/app/http/client-error.ts';

/** Sends raw bytes (bypassing any client that would encode them) and returns the whole answer. */
function rawRequest(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

function parseAnswer(answer: string): { status: number; headers: string; body: unknown } {
  const [head, body] = answer.split('\r\n\r\n', 2) as [string, string];
  return { status: Number(head.split(' ')[1]), headers: head, body: JSON.parse(body) };
}

describe('requests the HTTP parser refuses', () => {
  let server: Server;
  let port = 0;
  let reached = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      reached++;
      res.end('ok');
    });
    explainClientErrors(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers an unencoded Chinese query with a 400 OperationOutcome that says how to encode it', async () => {
    const request = Buffer.from(
      'GET /fhir/Patient?name:contains=秀 HTTP/1.1\r\nHost: localhost\r\n\r\n',
      'utf8',
    );
    const { status, headers, body } = parseAnswer(await rawRequest(port, request));
    expect(status).toBe(400);
    expect(headers).toMatch(/content-type: application\/fhir\+json/i);
    expect(body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid' }],
    });
    const diagnostics = (body as { issue: { diagnostics: string }[] }).issue[0]!.diagnostics;
    expect(diagnostics).toContain('percent-encoded');
    expect(diagnostics).toContain('--data-urlencode');
    expect(reached).toBe(0);
  });

  it('answers oversized headers with 431', async () => {
    const big = 'x'.repeat(20 * 1024);
    const request = Buffer.from(`GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\nX-Big: ${big}\r\n\r\n`);
    const { status, body } = parseAnswer(await rawRequest(port, request));
    expect(status).toBe(431);
    expect(body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'invalid' }] });
    expect(reached).toBe(0);
  });

  it('names the parser error for other malformed requests', async () => {
    const request = Buffer.from('GET /fhir/metadata HTTP/1.1\r\nHost localhost\r\n\r\n');
    const { status, body } = parseAnswer(await rawRequest(port, request));
    expect(status).toBe(400);
    expect((body as { issue: { diagnostics: string }[] }).issue[0]!.diagnostics).toMatch(
      /not valid HTTP\/1\.1 \(HPE_/,
    );
  });

  it('still serves well-formed requests, percent-encoded Chinese included', async () => {
    const before = reached;
    const answer = await rawRequest(
      port,
      Buffer.from(
        `GET /fhir/Patient?name=${encodeURIComponent('秀')} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      ),
    );
    expect(answer.startsWith('HTTP/1.1 200')).toBe(true);
    expect(reached).toBe(before + 1);
  });
});
