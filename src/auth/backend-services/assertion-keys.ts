import { createPublicKey, type KeyObject } from 'node:crypto';
import jwksRsa from 'jwks-rsa';
import type { Institution } from '../../institutions/types.ts';
import { OAuthError } from './oauth-error.ts';

export type AssertionAlg = 'RS384' | 'ES384';

/** The algorithms SMART Backend Services requires servers to support, and the only ones accepted. */
export const ASSERTION_ALGS: readonly AssertionAlg[] = ['RS384', 'ES384'];

/**
 * Finds the public key an assertion names by `kid`: first among the keys registered for the
 * institution, then in the JWKS its URL publishes (fetched through jwks-rsa, which caches and
 * rate-limits). The key must fit the algorithm, so an RSA key never checks an ES384 signature.
 */
export function createAssertionKeyResolver(): (
  inst: Institution,
  kid: string,
  alg: AssertionAlg,
) => Promise<KeyObject> {
  const clients = new Map<string, jwksRsa.JwksClient>();
  const jwksClient = (uri: string) => {
    let client = clients.get(uri);
    if (!client) {
      client = jwksRsa({
        jwksUri: uri,
        cache: true,
        cacheMaxAge: 10 * 60_000,
        rateLimit: true,
        jwksRequestsPerMinute: 10,
        timeout: 5_000,
      });
      clients.set(uri, client);
    }
    return client;
  };

  return async (inst, kid, alg) => {
    const registered = inst.publicKeys.find((k) => k.kid === kid);
    let key: KeyObject | undefined;
    if (registered) {
      key = createPublicKey({ key: registered, format: 'jwk' });
    } else if (inst.jwksUrl !== undefined) {
      try {
        key = createPublicKey((await jwksClient(inst.jwksUrl).getSigningKey(kid)).getPublicKey());
      } catch (err) {
        throw new OAuthError(
          'invalid_client',
          `No key "${kid}" in the JWKS of ${inst.id}: ${(err as Error).message}`,
        );
      }
    }
    if (!key) throw new OAuthError('invalid_client', `No key "${kid}" is registered for ${inst.id}`);
    const fits =
      alg === 'RS384'
        ? key.asymmetricKeyType === 'rsa'
        : key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    if (!fits) throw new OAuthError('invalid_client', `Key "${kid}" of ${inst.id} cannot verify ${alg}`);
    return key;
  };
}
