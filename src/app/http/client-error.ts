import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { issue, outcome } from '../../kernel/outcomes.ts';

/**
 * Requests that Node's HTTP parser refuses never reach express, and Node's own answer is a bare
 * `400` with no body. The commonest cause is a hand-typed URL with Chinese characters
 * (`?name=秀` from curl, which sends them unencoded), so the answer says what was refused and how
 * to send it, as an OperationOutcome like every other error.
 */
export function explainClientErrors(server: Server): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    // A client that went away, or a socket that is already closing, has no one to answer.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, reason, diagnostics } = describe(err.code);
    const body = JSON.stringify(outcome(issue({ code: 'invalid', diagnostics, hieCode: 'HIE-HTTP-004' })));
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        'Content-Type: application/fhir+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}

function describe(code: string | undefined): { status: number; reason: string; diagnostics: string } {
  switch (code) {
    case 'HPE_INVALID_URL':
      return {
        status: 400,
        reason: 'Bad Request',
        diagnostics:
          'The request URL holds characters that must be percent-encoded (UTF-8), such as Chinese ' +
          'characters or spaces; with curl: curl -G --data-urlencode "name=秀" <url>',
      };
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'Request Header Fields Too Large',
        diagnostics: 'The request headers are larger than this server accepts',
      };
    case 'HPE_REQUEST_TIMEOUT':
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'Request Timeout', diagnostics: 'The request did not arrive in time' };
    default:
      return {
        status: 400,
        reason: 'Bad Request',
        diagnostics: `The request is not valid HTTP/1.1 (${code ?? 'unreadable'})`,
      };
  }
}
