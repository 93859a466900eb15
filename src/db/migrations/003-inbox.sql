-- The inbound archive (ARCHITECTURE.md "Durability rule"): every message the gateway accepts is
-- committed here, raw bytes first, before it is acknowledged. Redis only ever holds this row's id.
--
-- `id` is a UUIDv7 made in Node: time-ordered, so "newest first" is `ORDER BY id DESC` and a
-- keyset cursor is simply the last id. COLLATE "C" keeps that byte order whatever the database's
-- locale (a locale collation may weigh the hyphens differently).
-- `bundle` is `json`, not `jsonb`: jsonb rewrites numbers (1.50 → 1.5) and a FHIR decimal's text
-- is its precision. `event_time` stays text so the sender's offset survives (`+08:00`).
CREATE TABLE inbound_message (
  id           text COLLATE "C" PRIMARY KEY,
  institution  text        NOT NULL,
  format       text        NOT NULL,
  feed         text,
  transport    text        NOT NULL,
  type         text,
  control_id   text        NOT NULL,
  content_hash text        NOT NULL,
  raw          bytea       NOT NULL,
  charset      text,
  received_at  timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  state        text        NOT NULL CHECK (state IN ('queued', 'stored', 'failed')),
  outcome      jsonb,
  bundle       json,
  event_time   text,
  flags        text[]      NOT NULL DEFAULT '{}',
  written      jsonb,
  attempts     integer     NOT NULL DEFAULT 0
);

-- Re-send detection: the same institution, control id and content is one message. The store
-- serialises on (institution, control id) with an advisory lock; this index is the backstop that
-- makes a second row impossible even for a writer that forgot the lock.
CREATE UNIQUE INDEX inbound_message_resend ON inbound_message (institution, control_id, content_hash);

-- The list filters, each newest first (keyset on id).
CREATE INDEX inbound_message_state ON inbound_message (state, id);
CREATE INDEX inbound_message_institution ON inbound_message (institution, state, id);
CREATE INDEX inbound_message_type ON inbound_message (type, id);
CREATE INDEX inbound_message_feed ON inbound_message (feed, id) WHERE feed IS NOT NULL;

-- The reconciler's question: which accepted messages have waited too long?
CREATE INDEX inbound_message_pending ON inbound_message (updated_at) WHERE state = 'queued';
