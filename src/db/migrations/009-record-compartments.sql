-- A person's compartment holds their records and the AuditEvent of every reading of them: the
-- audit part grows with each view (a summary read a hundred times a day adds a hundred events), so
-- queries over a person's clinical records — the summary's selection and its kept-summary
-- fingerprint, the care-relationship and consent functions — would fetch ever more audit rows from
-- the heap only to discard them. This index holds the compartments of everything else; a query
-- naming the types it wants (or excluding AuditEvent) uses it. The full index stays for queries
-- over every type and for the access history.
CREATE INDEX resource_compartments_records ON resource USING gin (compartments)
  WHERE resource_type <> 'AuditEvent';
