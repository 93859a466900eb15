import net from 'node:net';

/**
 * One AUTH + PING over RESP on a raw socket. Readiness must not depend on a client library's
 * retry loop: we want one yes/no per attempt. A server still loading its AOF answers
 * `-LOADING`, which counts as not ready.
 */
export function redisAnswers(port: number, password: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let received = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(resp(['AUTH', password]) + resp(['PING'])));
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (received.includes('+PONG')) done(true);
      else if (received.startsWith('-') || received.includes('\r\n-')) done(false);
    });
  });
}

function resp(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}
