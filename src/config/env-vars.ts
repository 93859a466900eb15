/**
 * Every environment variable the system reads, in one table.
 * The README's configuration table is checked against this list by a test,
 * so a variable cannot be added here without being documented there.
 */
export interface EnvVarSpec {
  name: string;
  /** Shown in the README; `undefined` means "unset". */
  defaultText: string;
  description: string;
}

export const ENV_VARS: readonly EnvVarSpec[] = [
  { name: 'PORT', defaultText: '8080', description: 'HTTP port of the gateway and the FHIR repository.' },
  { name: 'MLLP_PORT', defaultText: '2575', description: 'TCP port of the HL7 v2 MLLP listener.' },
  {
    name: 'HIE_MLLP_TLS_CERT',
    defaultText: 'unset → plain TCP',
    description:
      "MLLP over TLS: the listener's certificate (PEM path). With `HIE_MLLP_TLS_KEY` and `HIE_MLLP_TLS_CA`, senders must present a client certificate signed by that CA whose subject CN is their institution id.",
  },
  {
    name: 'HIE_MLLP_TLS_KEY',
    defaultText: 'unset',
    description: "MLLP over TLS: the listener's private key (PEM path).",
  },
  {
    name: 'HIE_MLLP_TLS_CA',
    defaultText: 'unset',
    description: 'MLLP over TLS: the CA (PEM path) that signs the member institutions’ client certificates.',
  },
  {
    name: 'HIE_DATA_DIR',
    defaultText: '.data',
    description:
      'Data folder: embedded PostgreSQL and Redis data, the signing key, `runtime.json`, the audit chain head.',
  },
  {
    name: 'DATABASE_URL',
    defaultText: 'unset → embedded PostgreSQL',
    description:
      'PostgreSQL connection string (15 to 18). Unset: an embedded PostgreSQL 18 in the data folder.',
  },
  {
    name: 'REDIS_URL',
    defaultText: 'unset → embedded Redis',
    description: 'Redis connection string. Unset: `redis-server` from PATH, data in the data folder, AOF on.',
  },
  {
    name: 'HIE_PUBLIC_URL',
    defaultText: 'http://localhost:$PORT',
    description:
      'The URL clients use; token `iss`, `aud` (`+ /fhir`) and every absolute link derive from it.',
  },
  {
    name: 'HIE_CANONICAL_BASE',
    defaultText: 'https://county-hie.org/fhir',
    description: 'Canonical base of identifier systems, profiles and code systems (never needs to resolve).',
  },
  {
    name: 'HIE_FHIR_BASE_URL',
    defaultText: '$HIE_PUBLIC_URL/fhir',
    description: "The worker's write target: any FHIR R4 server (serving features need this repository).",
  },
  {
    name: 'HIE_TRUSTED_ISSUERS',
    defaultText: '[]',
    description:
      'JSON array of external token issuers: `[{"issuer","jwksUri","audience","algorithms":["RS256",…]}]`; asymmetric algorithms only.',
  },
  {
    name: 'HIE_DEMO_ISSUER',
    defaultText: 'auto',
    description:
      '`on`, `off`, or `auto` (on only with the embedded database): the local issuer behind `hie token`.',
  },
  {
    name: 'HIE_DEMO_COUNTY',
    defaultText: 'auto',
    description:
      '`auto` (load the demo county at start when the demo issuer is on and the data folder has not loaded it yet) or `off`; `/readyz` answers 503 with progress until the load is final.',
  },
  {
    name: 'HIE_DEMO_RESIDENTS',
    defaultText: '200',
    description:
      'Residents of the demo county loaded at start (fixed seed; the as-of date is the first start’s day).',
  },
  {
    name: 'HIE_MAX_BODY_BYTES',
    defaultText: '33554432',
    description:
      'Largest request body accepted (bytes); larger bodies get 413 (on `/ingest`, their first 64 KiB are kept as a failed message, flagged `truncated`).',
  },
  {
    name: 'HIE_MAX_BUNDLE_ENTRIES',
    defaultText: '10000',
    description: 'Most entries in one Bundle (batch, transaction, or ingested); more get 413.',
  },
  {
    name: 'HIE_CARE_RELATIONSHIP_DAYS',
    defaultText: '730',
    description: 'How far back an encounter at the clinician’s institution counts as a care relationship.',
  },
  { name: 'HIE_BTG_MINUTES', defaultText: '60', description: 'Lifetime of a break-the-glass grant.' },
  {
    name: 'HIE_MUTUAL_RECOGNITION_DAYS',
    defaultText: '30',
    description: 'Default window for mutual recognition of results (each recognised item may set its own).',
  },
  {
    name: 'HIE_SUMMARY_CACHE_SECONDS',
    defaultText: '300',
    description:
      'How long a built `$summary` is served again while the person’s records are unchanged (any change is seen on the next request); `0` builds every summary anew.',
  },
  {
    name: 'HIE_SUMMARY_CACHE_MB',
    defaultText: '128',
    description: 'Memory for kept summaries, in MiB; the least recently used go first.',
  },
  {
    name: 'HIE_ACCESS_DECISION_SECONDS',
    defaultText: '30',
    description:
      'How long a clinician’s decision to open a person (care relationship, consent) is reused by `$summary` while the person’s records and grants are unchanged (any change is seen on the next request); bounds how late time alone — an encounter leaving the window, a contract ending — is noticed. Break-the-glass decisions are never reused; `0` decides every request anew.',
  },
  {
    name: 'HIE_CONSENT_DEFAULT',
    defaultText: 'permit',
    description: '`permit` or `deny`: sharing when a person has recorded no consent.',
  },
  {
    name: 'HIE_LOG_LEVEL',
    defaultText: 'info',
    description:
      '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`; logs are JSON lines on stderr.',
  },
];
