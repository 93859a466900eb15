import { Router } from 'express';
import type { SigningKey } from './signing-key.ts';

/**
 * The SMART App Launch 2 discovery document (`.well-known/smart-configuration`). The exchange
 * serves backend services only (client credentials with signed JWT assertions), so there is no
 * authorization endpoint and no response types. `token_endpoint` is required by SMART even
 * before `/auth/token` is served.
 */
export function smartConfiguration(publicUrl: string): Record<string, unknown> {
  return {
    issuer: publicUrl,
    jwks_uri: `${publicUrl}/auth/jwks`,
    token_endpoint: `${publicUrl}/auth/token`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    scopes_supported: ['system/*.cruds', 'system/*.rs', 'user/*.rs', 'patient/*.rs'],
    response_types_supported: [],
    capabilities: ['permission-v2', 'client-confidential-asymmetric'],
    code_challenge_methods_supported: ['S256'],
  };
}

/** `GET /auth/jwks`: the public half of the local key, so others can verify our tokens. */
export function authRoutes(key: SigningKey): Router {
  const router = Router();
  const body = { keys: [key.publicJwk] };
  router.get('/auth/jwks', (_req, res) => {
    // Short cache: verifiers pick up a replaced key within five minutes.
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(body);
  });
  return router;
}
