-- Resources are kept as `json`, not `jsonb`: jsonb rewrites numbers (1E-22 becomes
-- 0.0000000000000000000001, -0.00 becomes 0.00), and a FHIR decimal's text is its precision.
-- Search never reads `content` (the index tables answer it), so nothing is lost; code that
-- needs JSON operators casts to jsonb in the query.
ALTER TABLE resource ALTER COLUMN content TYPE json USING content::json;
ALTER TABLE resource_history ALTER COLUMN content TYPE json USING content::json;
