-- The audit trail: one row per AuditEvent, hash-chained (CONTRACTS "Access, consent, audit").
-- `event` is the AuditEvent's RFC 8785 canonical JSON kept as TEXT: jsonb would re-order keys and
-- re-spell numbers, and the hash must be recomputable from exactly what was hashed.
-- hash = SHA-256(prev_hash || event) in lowercase hex; the first row's prev_hash is 64 zeros.
-- Rows are appended in `seq` order under one advisory lock, so `seq` has no gaps and
-- `prev_hash` is always the hash of row seq-1. The same event is also stored as an AuditEvent
-- resource (id = event_id) so that it is searchable through /fhir.
CREATE TABLE audit_chain (
  seq       bigint      PRIMARY KEY CHECK (seq > 0),
  event_id  text        NOT NULL UNIQUE,
  recorded  timestamptz NOT NULL,
  event     text        NOT NULL,
  prev_hash text        NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash      text        NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);

-- Nothing in the trail is ever changed or removed by the application. This trigger stops
-- accidents and ordinary roles; it does not stop a superuser (who can disable it), which is why
-- `hie audit verify` checks the hashes and the head file written outside the database.
CREATE FUNCTION audit_chain_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_chain is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_chain_append_only_rows
  BEFORE UPDATE OR DELETE ON audit_chain
  FOR EACH ROW EXECUTE FUNCTION audit_chain_refuse_change();

CREATE TRIGGER audit_chain_append_only_truncate
  BEFORE TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_refuse_change();
