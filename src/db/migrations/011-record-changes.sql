-- A change counter per patient record: every write of a resource in a Patient's compartment
-- (AuditEvents excepted) adds one to that Patient's counter, in the writing transaction. Readers
-- that keep what they derived from a person's records — the kept summaries and the access
-- decisions of src/summary and src/access — compare the counters of the person's few record ids
-- (index look-ups) instead of scanning the hundreds of rows of the compartment on every request.
-- AuditEvents do not count: reading a record writes one, and reading must not look like a change.
CREATE TABLE record_change (
  record_id text   PRIMARY KEY,   -- a Patient id, as in resource.compartments
  changes   bigint NOT NULL
);

-- Statement-level, with transition tables: a bulk insert of hundreds of resources is one
-- upsert per statement, not one per row. An update counts the compartments it left (OLD) and
-- those it entered (NEW): moving a resource between patients, or deleting it (compartments
-- emptied), changes both sides. Rows are locked in record-id order so that two transactions
-- bumping the same records cannot deadlock within one statement.
CREATE FUNCTION hie_note_record_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO record_change (record_id, changes)
    SELECT c, count(*) FROM new_rows, unnest(new_rows.compartments) AS c
     WHERE new_rows.resource_type <> 'AuditEvent'
     GROUP BY c ORDER BY c
    ON CONFLICT (record_id) DO UPDATE SET changes = record_change.changes + EXCLUDED.changes;
  ELSE
    INSERT INTO record_change (record_id, changes)
    SELECT c, count(*) FROM (
      SELECT unnest(o.compartments) AS c FROM old_rows o WHERE o.resource_type <> 'AuditEvent'
      UNION ALL
      SELECT unnest(n.compartments) FROM new_rows n WHERE n.resource_type <> 'AuditEvent') x
     GROUP BY c ORDER BY c
    ON CONFLICT (record_id) DO UPDATE SET changes = record_change.changes + EXCLUDED.changes;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER resource_changes_inserted AFTER INSERT ON resource
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hie_note_record_changes();
CREATE TRIGGER resource_changes_updated AFTER UPDATE ON resource
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hie_note_record_changes();

-- Records written before this migration start from their current number of rows, so a counter
-- is never lower than one taken earlier (the counters only ever grow).
INSERT INTO record_change (record_id, changes)
SELECT c, count(*) FROM resource, unnest(compartments) AS c
 WHERE resource_type <> 'AuditEvent' GROUP BY c;
