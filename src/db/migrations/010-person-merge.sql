-- A person merged into another (POST /identity/persons/merge): its records moved to the other
-- person, its golden Patient stays — inactive, with a `replaced-by` link to the survivor — so a
-- client holding the old person's id is told where the resident is now.
ALTER TABLE identity_person ADD COLUMN merged_into text;
