-- The shared FHIR repository.
-- Current versions live in `resource`, every version (current included) in `resource_history`.
-- Search runs on index tables, one per search-parameter kind, written in the same transaction
-- as the resource. Every row carries (resource_type, resource_id) so that the tables can later be
-- distributed together; `compartments` lists the Patients whose compartment holds the resource.
-- Ids from the server are UUIDv7 (time-ordered) so inserts land at the right edge of B-trees.


CREATE TABLE resource (
  resource_type text        NOT NULL,
  id            text        NOT NULL,
  version_id    integer     NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean     NOT NULL DEFAULT false,
  compartments  text[]      NOT NULL DEFAULT '{}',
  content       jsonb,
  PRIMARY KEY (resource_type, id)
);
CREATE INDEX resource_type_updated ON resource (resource_type, last_updated);
CREATE INDEX resource_compartments ON resource USING gin (compartments);

CREATE TABLE resource_history (
  resource_type text        NOT NULL,
  id            text        NOT NULL,
  version_id    integer     NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean     NOT NULL DEFAULT false,
  method        text        NOT NULL,
  content       jsonb,
  PRIMARY KEY (resource_type, id, version_id)
);
CREATE INDEX resource_history_updated ON resource_history (last_updated);
CREATE INDEX resource_history_type_updated ON resource_history (resource_type, last_updated);

-- token: Coding, CodeableConcept, Identifier, code, boolean, ContactPoint; `system` null when absent.
CREATE TABLE sp_token (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text NOT NULL,
  system        text,
  value         text,
  text          text
);
CREATE INDEX sp_token_value ON sp_token (code, value, resource_type);
CREATE INDEX sp_token_resource ON sp_token (resource_type, resource_id);

-- string: `norm` is lower-cased and stripped of accents (default and :contains), `exact` as written,
-- `grams` the one- and two-character pieces of `norm`, so `:contains` with a single Chinese character
-- (name:contains=秀) is an index lookup too.
CREATE TABLE sp_string (
  resource_type text   NOT NULL,
  resource_id   text   NOT NULL,
  code          text   NOT NULL,
  norm          text   NOT NULL,
  exact         text   NOT NULL,
  grams         text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX sp_string_norm ON sp_string (code, norm text_pattern_ops, resource_type);
CREATE INDEX sp_string_grams ON sp_string USING gin (grams);
CREATE INDEX sp_string_resource ON sp_string (resource_type, resource_id);

-- date: every value is a closed range [lo, hi] (a day, a Period, an instant); open ends are ±infinity.
CREATE TABLE sp_date (
  resource_type text        NOT NULL,
  resource_id   text        NOT NULL,
  code          text        NOT NULL,
  lo            timestamptz NOT NULL,
  hi            timestamptz NOT NULL
);
CREATE INDEX sp_date_lo ON sp_date (code, resource_type, lo);
CREATE INDEX sp_date_resource ON sp_date (resource_type, resource_id);

-- reference: literal references split into type and id when they point into this server; `url` otherwise.
CREATE TABLE sp_reference (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text NOT NULL,
  target_type   text,
  target_id     text,
  url           text
);
CREATE INDEX sp_reference_target ON sp_reference (code, target_id, target_type, resource_type);
CREATE INDEX sp_reference_resource ON sp_reference (resource_type, resource_id);
CREATE INDEX sp_reference_any_target ON sp_reference (target_type, target_id);

CREATE TABLE sp_number (
  resource_type text    NOT NULL,
  resource_id   text    NOT NULL,
  code          text    NOT NULL,
  value         numeric NOT NULL
);
CREATE INDEX sp_number_value ON sp_number (code, resource_type, value);
CREATE INDEX sp_number_resource ON sp_number (resource_type, resource_id);

CREATE TABLE sp_quantity (
  resource_type text    NOT NULL,
  resource_id   text    NOT NULL,
  code          text    NOT NULL,
  value         numeric NOT NULL,
  system        text,
  unit          text
);
CREATE INDEX sp_quantity_value ON sp_quantity (code, resource_type, value);
CREATE INDEX sp_quantity_resource ON sp_quantity (resource_type, resource_id);

CREATE TABLE sp_uri (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text NOT NULL,
  value         text NOT NULL
);
CREATE INDEX sp_uri_value ON sp_uri (code, value, resource_type);
CREATE INDEX sp_uri_resource ON sp_uri (resource_type, resource_id);
