-- Patient identity (EMPI). Each institution's Patient stays its own record in the repository;
-- these tables say which regional person (golden Patient) it belongs to and why. The golden
-- Patient and the links live in the repository as FHIR (CONTRACTS "Identity links"); this is the
-- matcher's working memory: normalised records, blocking keys, decisions, reviews.

-- One row per source Patient the matcher has seen.
CREATE TABLE identity_record (
  patient_ref  text        PRIMARY KEY,              -- 'Patient/{id}' (a source record)
  institution  text,
  tier         text,
  person_id    text        NOT NULL,                 -- the golden Patient's id
  -- linked: belongs to its person; provisional: its own person while a review is open;
  -- manual: linked by a person (POST /identity/links), never moved by the matcher.
  state        text        NOT NULL CHECK (state IN ('linked', 'provisional', 'manual')),
  match        jsonb       NOT NULL,                 -- the normalised MatchRecord
  -- The record's demographics as FHIR (name, gender, birthDate, telecom, address) and when it
  -- changed: what the golden record's survivorship rules choose from, without re-reading sources.
  demographics jsonb       NOT NULL,
  source_updated timestamptz NOT NULL,
  match_hash   text        NOT NULL,                 -- unchanged demographics are not re-matched
  active       boolean     NOT NULL DEFAULT true,    -- false once merged away (ADT A40)
  updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX identity_record_person ON identity_record (person_id);

-- The regional persons and a hash of the golden Patient last written, so that an unchanged
-- golden record is not written again.
CREATE TABLE identity_person (
  id           text        PRIMARY KEY,
  golden_hash  text,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Blocking keys: a new record meets only records sharing one.
CREATE TABLE identity_block (
  key          text NOT NULL,
  patient_ref  text NOT NULL REFERENCES identity_record (patient_ref) ON DELETE CASCADE,
  PRIMARY KEY (key, patient_ref)
);
CREATE INDEX identity_block_record ON identity_block (patient_ref);

-- Every decision, with its score and the fields that drove it, under the rules version used.
CREATE TABLE identity_decision (
  id            uuid        PRIMARY KEY,
  patient_ref   text        NOT NULL,
  candidate_ref text,
  person_id     text        NOT NULL,
  outcome       text        NOT NULL,
  grade         text        NOT NULL,
  score         numeric     NOT NULL,
  rule          text        NOT NULL,
  fields        jsonb       NOT NULL,
  rules_version text        NOT NULL,
  decided_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX identity_decision_record ON identity_decision (patient_ref, decided_at);

-- Pairs waiting for a person to decide (GET /identity/review), and the decisions made.
CREATE TABLE identity_review (
  id          uuid        PRIMARY KEY,
  left_ref    text        NOT NULL,                  -- the record in review (provisional)
  right_ref   text        NOT NULL,                  -- the candidate it may belong with
  score       numeric     NOT NULL,
  grade       text        NOT NULL,
  rule        text        NOT NULL,
  fields      jsonb       NOT NULL,
  state       text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'accepted', 'rejected')),
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  decided_at  timestamptz,
  decided_by  text
);
CREATE UNIQUE INDEX identity_review_open_pair ON identity_review (left_ref, right_ref) WHERE state = 'open';
CREATE INDEX identity_review_open ON identity_review (created_at) WHERE state = 'open';

-- Pairs a reviewer said are different people (or a manual unlink): never linked again by the matcher.
CREATE TABLE identity_rejection (
  a_ref      text        NOT NULL,
  b_ref      text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (a_ref, b_ref),
  CHECK (a_ref < b_ref)
);
