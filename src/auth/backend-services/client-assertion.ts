import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { jwkThumbprint } from '../signing-key.ts';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientAssertionOptions {
  clientId: string;
  /** The token endpoint URL: the assertion's `aud`. */
  tokenUrl: string;
  /** Default from the key: RS384 for RSA, ES384 for EC. */
  alg?: 'RS384' | 'ES384';
  /** Default: the RFC 7638 thumbprint of the public key (what the registry uses). */
  kid?: string;
  /** Lifetime; default 240 s (the endpoint accepts at most 300). Not clamped: tests need bad ones. */
  ttlSeconds?: number;
  /** Default: a random UUID; fixed only to test replay detection. */
  jti?: string;
}

/**
 * A SMART Backend Services client assertion (RFC 7523 private_key_jwt): `iss` = `sub` = the
 * client id, `aud` = the token URL, a short `exp` and a fresh `jti`, signed with the client's key.
 */
export function signClientAssertion(privateKeyPem: string, opts: ClientAssertionOptions): string {
  const key = createPrivateKey(privateKeyPem);
  const alg = opts.alg ?? (key.asymmetricKeyType === 'rsa' ? 'RS384' : 'ES384');
  const kid = opts.kid ?? jwkThumbprint(createPublicKey(key).export({ format: 'jwk' }));
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: opts.clientId,
    sub: opts.clientId,
    aud: opts.tokenUrl,
    iat: now,
    exp: now + Math.trunc(opts.ttlSeconds ?? 240),
    jti: opts.jti ?? randomUUID(),
  };
  return jwt.sign(payload, key, { algorithm: alg, keyid: kid, header: { alg, typ: 'JWT', kid } });
}
