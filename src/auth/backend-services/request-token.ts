import { JWT_BEARER, signClientAssertion } from './client-assertion.ts';

/** A token from `POST /auth/token` and when it stops working (the sender's clock). */
export interface InstitutionToken {
  accessToken: string;
  expiresAtMs: number;
}

/** The token endpoint refused, or did not answer: the message says which and why. */
export class TokenRequestError extends Error {
  override name = 'TokenRequestError';
}

/**
 * SMART Backend Services: client credentials with a freshly signed assertion (the flow a real
 * institution's system uses, not the demo issuer). Used by `hie upload` and the demo sender.
 */
export async function requestInstitutionToken(
  publicUrl: string,
  clientId: string,
  privateKeyPem: string,
  now: () => number = Date.now,
): Promise<InstitutionToken> {
  const tokenUrl = `${publicUrl}/auth/token`;
  const assertion = signClientAssertion(privateKeyPem, { clientId, tokenUrl });
  let res: Response;
  try {
    res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion,
        scope: 'system/*.cruds',
      }).toString(),
    });
  } catch (err) {
    throw new TokenRequestError(`${tokenUrl} does not answer (${(err as Error).message})`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== 'string')
    throw new TokenRequestError(
      `${tokenUrl} refused a token for ${clientId}: ${res.status} ${String(body.error ?? '')} ${String(body.error_description ?? '')}`.trim(),
    );
  const ttlSeconds = typeof body.expires_in === 'number' ? body.expires_in : 300;
  return { accessToken: body.access_token, expiresAtMs: now() + ttlSeconds * 1000 };
}
