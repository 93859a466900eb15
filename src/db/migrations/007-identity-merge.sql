-- Merges of two records of one institution (Patient/$merge, ADT A40) and what each changed, so
-- that Patient/$unmerge can put it back. Written in the same transaction as the merge's own
-- writes: a merge is recorded exactly when it happened.
CREATE TABLE identity_merge (
  id            uuid        PRIMARY KEY,
  source_ref    text        NOT NULL,               -- 'Patient/{id}': the record merged away
  target_ref    text        NOT NULL,               -- 'Patient/{id}': the survivor
  institution   text        NOT NULL,
  -- operation: Patient/$merge; adt-a40: the sender's own merge, completed by the identity stage.
  origin        text        NOT NULL CHECK (origin IN ('operation', 'adt-a40')),
  state         text        NOT NULL DEFAULT 'merged' CHECK (state IN ('merged', 'unmerged')),
  -- The Patients' versions before and after: {"source": {"before": n, "after": m}, "target": …}.
  patients      jsonb       NOT NULL,
  -- The source's identity row before ({personId, state, active}), null when identity never saw it.
  identity_before jsonb,
  -- Every reference re-pointed: [{"type", "id", "version", "changes": [{"path", "from", "to"}]}].
  repointed     jsonb       NOT NULL,
  merged_by     text        NOT NULL,
  merged_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  unmerged_by   text,
  unmerged_at   timestamptz
);
-- A record is merged away at most once at a time.
CREATE UNIQUE INDEX identity_merge_open_source ON identity_merge (source_ref) WHERE state = 'merged';
CREATE INDEX identity_merge_target ON identity_merge (target_ref) WHERE state = 'merged';
