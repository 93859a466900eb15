import { createHmac } from 'node:crypto';

/**
 * Builds JWTs without any JWT library, so the rejection tests do not depend on what
 * jsonwebtoken itself is willing to sign (it refuses some of the forgeries we need).
 */
const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`, empty signature). */
export function unsignedToken(payload: Record<string, unknown>): string {
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

/** An HS256 token whose HMAC secret is the given text (the algorithm-confusion attack uses a public key's PEM). */
export function hs256Token(payload: Record<string, unknown>, secret: string, kid?: string): string {
  const head = `${part({ alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) })}.${part(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
