-- The policy's per-person questions (is there a care relationship? which privacy Consents?) now
-- find the person's Encounters, referrals, contracts, care teams and Consents through the
-- reference index (`sp_reference_target`: code, target, type), which holds exactly the rows of the
-- asked types that point at the person's records. Through `compartments` (008) every one of the
-- person's rows — a thousand records and every AuditEvent of every reading — was fetched from the
-- heap to keep the few of those types. Same rules, same answers: a resource is in a Patient's
-- compartment exactly when one of its compartment parameters (R4 CompartmentDefinition patient:
-- Encounter subject; ServiceRequest subject, performer; EpisodeOfCare patient; CareTeam patient,
-- participant; Consent patient) references the Patient, which is what `sp_reference` records.
-- Inside each rule the index checks come before the status, so a row's JSON is read only when
-- the rest already matched.
CREATE OR REPLACE FUNCTION hie_care_relationship(
  records text[], institution text, practitioner text, since timestamptz, episode_type_system text
) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM resource e
    WHERE (e.resource_type, e.id) IN (
        SELECT s.resource_type, s.resource_id FROM sp_reference s
        WHERE s.code = ANY ('{subject,performer,patient,participant}'::text[])
          AND s.target_id = ANY (records) AND s.target_type = 'Patient'
          AND s.resource_type = ANY ('{Encounter,ServiceRequest,EpisodeOfCare,CareTeam}'::text[])
          AND (s.resource_type, s.code) IN (('Encounter', 'subject'), ('ServiceRequest', 'subject'),
               ('ServiceRequest', 'performer'), ('EpisodeOfCare', 'patient'), ('CareTeam', 'patient'),
               ('CareTeam', 'participant')))
      AND NOT e.deleted
      AND CASE e.resource_type
        WHEN 'Encounter' THEN
          EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'Encounter' AND x.resource_id = e.id
                    AND x.code = 'service-provider' AND x.target_type = 'Organization' AND x.target_id = institution)
          AND EXISTS (SELECT 1 FROM sp_date d WHERE d.resource_type = 'Encounter' AND d.resource_id = e.id
                    AND d.code = 'date' AND d.hi >= since)
          -- An encounter recorded in error, or cancelled before it began, is no care.
          AND COALESCE(e.content ->> 'status', '') NOT IN ('entered-in-error', 'cancelled')
        WHEN 'ServiceRequest' THEN
          EXISTS (SELECT 1 FROM sp_token t WHERE t.resource_type = 'ServiceRequest' AND t.resource_id = e.id
                    AND t.code = 'category' AND t.system = 'http://snomed.info/sct' AND t.value = '3457005')
          AND EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'ServiceRequest' AND x.resource_id = e.id
                    AND x.code = 'performer' AND x.target_type = 'Organization' AND x.target_id = institution)
          AND COALESCE(e.content ->> 'status', '') NOT IN ('revoked', 'entered-in-error')
        WHEN 'EpisodeOfCare' THEN
          EXISTS (SELECT 1 FROM sp_token t WHERE t.resource_type = 'EpisodeOfCare' AND t.resource_id = e.id
                    AND t.code = 'type' AND t.system = episode_type_system AND t.value = 'family-doctor-contract')
          AND EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'EpisodeOfCare' AND x.resource_id = e.id
                    AND ((x.code = 'organization' AND x.target_type = 'Organization' AND x.target_id = institution)
                      OR (x.code = 'care-manager' AND x.target_type = 'Practitioner' AND x.target_id = practitioner)))
          AND NOT EXISTS (SELECT 1 FROM sp_date d WHERE d.resource_type = 'EpisodeOfCare' AND d.resource_id = e.id
                    AND d.code = 'date' AND d.hi < now())
          AND COALESCE(e.content ->> 'status', '') IN ('planned', 'waitlist', 'active', 'onhold')
        ELSE
          EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'CareTeam' AND x.resource_id = e.id
                    AND x.code = 'participant'
                    AND ((x.target_type = 'Organization' AND x.target_id = institution)
                      OR (x.target_type = 'Practitioner' AND x.target_id = practitioner)))
          AND COALESCE(e.content ->> 'status', '') NOT IN ('inactive', 'entered-in-error')
      END)
$$;

CREATE OR REPLACE FUNCTION hie_privacy_consents(records text[]) RETURNS SETOF jsonb LANGUAGE sql STABLE AS $$
  SELECT c.content::jsonb FROM resource c
  WHERE c.resource_type = 'Consent'
    AND c.id IN (SELECT s.resource_id FROM sp_reference s
                  WHERE s.code = 'patient' AND s.target_id = ANY (records) AND s.target_type = 'Patient'
                    AND s.resource_type = 'Consent')
    AND NOT c.deleted
    AND c.content ->> 'status' = 'active'
    AND jsonb_path_exists(c.content::jsonb, '$.scope.coding[*] ? (@.code == "patient-privacy")')
    AND jsonb_path_exists(c.content::jsonb, '$.category[*].coding[*] ? (@.system == "http://loinc.org" && @.code == "59284-0")')
$$;
