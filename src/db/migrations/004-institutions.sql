-- Member institutions (CONTRACTS "Institutions registry"). `registry/institutions.json` seeds
-- this table once per id; after that the table is authoritative (operators change it through
-- `hie institutions …`). `entry` is the public InstitutionEntry exactly as `hie institutions
-- --json` prints it; what is not public (status, keys, MLLP allow-list) has its own columns.
CREATE TABLE institution (
  id              text        PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{2,40}$'),
  entry           jsonb       NOT NULL CHECK (entry->>'id' = id),
  active          boolean     NOT NULL DEFAULT true,
  -- Backend-services keys: a JWKS URL the institution publishes, and/or registered public JWKs.
  jwks_url        text,
  public_keys     jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(public_keys) = 'array'),
  mllp_allow_from text[]      NOT NULL DEFAULT '{}',
  -- clock_timestamp, not now(): rows seeded in one transaction keep the file's order.
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- `jti` values of client assertions seen at /auth/token, kept until the assertion expires, so a
-- captured assertion cannot be replayed (SMART Backend Services, RFC 7523 §3).
CREATE TABLE oauth_assertion_jti (
  client_id  text        NOT NULL,
  jti        text        NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX oauth_assertion_jti_expires ON oauth_assertion_jti (expires_at);
