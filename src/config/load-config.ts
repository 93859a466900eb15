import path from 'node:path';

/** One issuer of tokens we trust besides our own (a regional identity provider). */
export interface TrustedIssuer {
  issuer: string;
  jwksUri: string;
  audience: string;
  algorithms: string[];
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The whole configuration, validated once at start. Nothing else reads `process.env`. */
export interface Config {
  port: number;
  mllpPort: number;
  /** MLLP over TLS with client certificates (subject CN = institution id); undefined = plain TCP. */
  mllpTls?: { certFile: string; keyFile: string; caFile: string };
  dataDir: string;
  /** `undefined` → start the embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /** `undefined` → start the embedded Redis. */
  redisUrl: string | undefined;
  publicUrl: string;
  canonicalBase: string;
  fhirBaseUrl: string;
  trustedIssuers: TrustedIssuer[];
  demoIssuer: boolean;
  /** `auto`: load the demo county at start when the demo issuer is on; `off`: never. */
  demoCounty: 'auto' | 'off';
  demoResidents: number;
  maxBodyBytes: number;
  maxBundleEntries: number;
  careRelationshipDays: number;
  btgMinutes: number;
  mutualRecognitionDays: number;
  /** How long a built `$summary` serves while the record is unchanged (0 = off). */
  summaryCacheSeconds: number;
  /** Memory for kept summaries, in MiB. */
  summaryCacheMb: number;
  /** How long a clinician's access decision on a person serves while the record is unchanged (0 = off). */
  accessDecisionSeconds: number;
  consentDefault: 'permit' | 'deny';
  logLevel: LogLevel;
}

/** A wrong value stops start-up; the message names the variable so an operator can fix it. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${n}`);
  return n;
}

function url(env: Env, name: string, fallback: string | undefined, protocols: string[]): string | undefined {
  const raw = text(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL, got "${parsed.protocol}"`);
  }
  return raw.replace(/\/+$/, '');
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = text(env, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

function trustedIssuers(env: Env): TrustedIssuer[] {
  const raw = text(env, 'HIE_TRUSTED_ISSUERS');
  if (raw === undefined) return [];
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw new ConfigError('HIE_TRUSTED_ISSUERS', 'not valid JSON');
  }
  if (!Array.isArray(list)) throw new ConfigError('HIE_TRUSTED_ISSUERS', 'expected a JSON array');
  return list.map((item: any, i): TrustedIssuer => {
    const where = `HIE_TRUSTED_ISSUERS[${i}]`;
    for (const key of ['issuer', 'jwksUri', 'audience']) {
      if (typeof item?.[key] !== 'string') throw new ConfigError(where, `"${key}" must be a string`);
    }
    const algorithms: unknown = item.algorithms ?? ['RS256', 'ES256'];
    if (!Array.isArray(algorithms) || algorithms.length === 0) {
      throw new ConfigError(where, '"algorithms" must be a non-empty array');
    }
    for (const alg of algorithms) {
      if (!ASYMMETRIC.includes(String(alg))) {
        throw new ConfigError(where, `algorithm "${String(alg)}" is not an asymmetric JWS algorithm`);
      }
    }
    return { issuer: item.issuer, jwksUri: item.jwksUri, audience: item.audience, algorithms };
  });
}

/** All three TLS files or none: a half-configured TLS listener must not start as plain TCP. */
function mllpTls(env: Env, cwd: string): Config['mllpTls'] {
  const names = ['HIE_MLLP_TLS_CERT', 'HIE_MLLP_TLS_KEY', 'HIE_MLLP_TLS_CA'] as const;
  const values = names.map((n) => text(env, n));
  if (values.every((v) => v === undefined)) return undefined;
  const missing = names.filter((_n, i) => values[i] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(missing[0]!, `MLLP over TLS needs ${names.join(', ')} together (PEM file paths)`);
  }
  const [certFile, keyFile, caFile] = values.map((v) => path.resolve(cwd, v!)) as [string, string, string];
  return { certFile, keyFile, caFile };
}

/**
 * Reads the environment into one typed object, or throws a `ConfigError` naming the variable.
 * `cwd` anchors a relative `HIE_DATA_DIR`.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const mllpPort = integer(env, 'MLLP_PORT', 2575, 0, 65535);
  const publicUrl = url(env, 'HIE_PUBLIC_URL', `http://localhost:${port}`, ['http:', 'https:'])!;
  const databaseUrl = url(env, 'DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
  const demo = oneOf(env, 'HIE_DEMO_ISSUER', 'auto', ['auto', 'on', 'off'] as const);
  const tls = mllpTls(env, cwd);
  return {
    port,
    mllpPort,
    ...(tls ? { mllpTls: tls } : {}),
    dataDir: path.resolve(cwd, text(env, 'HIE_DATA_DIR') ?? '.data'),
    databaseUrl,
    redisUrl: url(env, 'REDIS_URL', undefined, ['redis:', 'rediss:']),
    publicUrl,
    canonicalBase: url(env, 'HIE_CANONICAL_BASE', 'https://county-hie.org/fhir', ['http:', 'https:'])!,
    fhirBaseUrl: url(env, 'HIE_FHIR_BASE_URL', `${publicUrl}/fhir`, ['http:', 'https:'])!,
    trustedIssuers: trustedIssuers(env),
    demoIssuer: demo === 'on' || (demo === 'auto' && databaseUrl === undefined),
    demoCounty: oneOf(env, 'HIE_DEMO_COUNTY', 'auto', ['auto', 'off'] as const),
    demoResidents: integer(env, 'HIE_DEMO_RESIDENTS', 200, 1, 100_000),
    maxBodyBytes: integer(env, 'HIE_MAX_BODY_BYTES', 32 * 1024 * 1024, 1024, 2 ** 31),
    maxBundleEntries: integer(env, 'HIE_MAX_BUNDLE_ENTRIES', 10_000, 1, 1_000_000),
    careRelationshipDays: integer(env, 'HIE_CARE_RELATIONSHIP_DAYS', 730, 1, 36_500),
    btgMinutes: integer(env, 'HIE_BTG_MINUTES', 60, 1, 24 * 60),
    mutualRecognitionDays: integer(env, 'HIE_MUTUAL_RECOGNITION_DAYS', 30, 1, 3650),
    summaryCacheSeconds: integer(env, 'HIE_SUMMARY_CACHE_SECONDS', 300, 0, 86_400),
    summaryCacheMb: integer(env, 'HIE_SUMMARY_CACHE_MB', 128, 0, 65_536),
    accessDecisionSeconds: integer(env, 'HIE_ACCESS_DECISION_SECONDS', 30, 0, 3_600),
    consentDefault: oneOf(env, 'HIE_CONSENT_DEFAULT', 'permit', ['permit', 'deny'] as const),
    logLevel: oneOf(env, 'HIE_LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ] as const),
  };
}
