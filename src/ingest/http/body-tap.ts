import { createHash } from 'node:crypto';
import type { Request } from 'express';

/** What streamed past of a request body: its start, its size and its SHA-256. */
export interface BodyTap {
  head(): Buffer;
  size(): number;
  digest(): string;
}

/**
 * Watches a request body as the body parser reads it. The parser refuses a body over the size
 * limit and throws its bytes away (it still reads them all before answering); the tap keeps the
 * first `keep` bytes and the size and hash of the whole, so the refused body can be archived and
 * recognised. Attach it in the same tick as the parser, before any data flows.
 */
export function tapBody(req: Request, keep: number): BodyTap {
  const head: Buffer[] = [];
  let kept = 0;
  let size = 0;
  const hash = createHash('sha256');
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    hash.update(chunk);
    if (kept < keep) {
      const part = chunk.subarray(0, keep - kept);
      head.push(part);
      kept += part.length;
    }
  });
  let digest: string | undefined;
  return {
    head: () => Buffer.concat(head),
    size: () => size,
    digest: () => (digest ??= hash.digest('hex')),
  };
}
