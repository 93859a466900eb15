import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { SigningKey } from './signing-key.ts';

/** The exchange's roles (CONTRACTS "Tokens and roles"); anything else in `hie_roles` is ignored. */
export type Role = 'admin' | 'privacy-officer' | 'clinician' | 'worker';

export const ROLES: readonly Role[] = ['admin', 'privacy-officer', 'clinician', 'worker'];

/** The payload of a local token before `iat`, `exp` and `jti` are added. */
export interface HieClaims {
  iss: string;
  aud: string;
  sub: string;
  scope: string;
  hie_roles: Role[];
  fhirUser?: string;
  hie_institution?: string;
  patient?: string;
  [claim: string]: unknown;
}

/** Every local token names the exchange as issuer and its FHIR base as audience. */
function base(publicUrl: string): { iss: string; aud: string } {
  return { iss: publicUrl, aud: `${publicUrl}/fhir` };
}

/** The exchange's operator: everything, at system and user level. */
export function adminClaims(publicUrl: string): HieClaims {
  return { ...base(publicUrl), sub: 'hie-admin', scope: 'system/*.cruds user/*.cruds', hie_roles: ['admin'] };
}

/** A clinician reads across institutions; what they may see is decided by the access policy. */
export function clinicianClaims(publicUrl: string, institutionId: string, practitionerId: string): HieClaims {
  const fhirUser = `Practitioner/${practitionerId}`;
  return {
    ...base(publicUrl),
    sub: fhirUser,
    scope: 'user/*.rs',
    fhirUser,
    hie_institution: institutionId,
    hie_roles: ['clinician'],
  };
}

/** A privacy officer reviews access for one institution; no practitioner record is implied. */
export function privacyOfficerClaims(publicUrl: string, institutionId: string): HieClaims {
  return {
    ...base(publicUrl),
    sub: `privacy-officer@${institutionId}`,
    scope: 'user/*.rs',
    hie_institution: institutionId,
    hie_roles: ['privacy-officer'],
  };
}

/** A resident reading their own record: patient context, no role. */
export function personClaims(publicUrl: string, patientId: string): HieClaims {
  const fhirUser = `Patient/${patientId}`;
  return {
    ...base(publicUrl),
    sub: fhirUser,
    scope: 'patient/*.rs',
    patient: patientId,
    fhirUser,
    hie_roles: [],
  };
}

/** A member institution's system sending data; its subject is the institution id. */
export function institutionClaims(publicUrl: string, institutionId: string): HieClaims {
  return {
    ...base(publicUrl),
    sub: institutionId,
    scope: 'system/*.cruds',
    hie_institution: institutionId,
    hie_roles: [],
  };
}

/** The pipeline's own writer (the internal client `hie-worker`). */
export function workerClaims(publicUrl: string): HieClaims {
  return { ...base(publicUrl), sub: 'hie-worker', scope: 'system/*.cruds', hie_roles: ['worker'] };
}

/**
 * Signs an ES256 JWT with the local key. `iat`, `exp` and a random `jti` are always set here,
 * replacing any in `claims`, so a token's lifetime is exactly `ttlSeconds` (negative makes an
 * already-expired token, which tests use).
 */
export async function issueToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  ttlSeconds: number,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const payload = { ...claims, iat, exp: iat + Math.trunc(ttlSeconds), jti: randomUUID() };
  return jwt.sign(payload, key.privateKey, { algorithm: 'ES256', keyid: key.kid });
}
