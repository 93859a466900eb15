-- The access policy (CONTRACTS "Access, consent, audit"). The rules live here as SQL functions so
-- that one definition decides a read by id, a search (before paging and before `total`), an
-- `_include`, a chain and a `_has` alike: a resource is visible exactly when a search could find
-- it. The TypeScript side (src/access) only chooses which predicate a caller gets and binds its
-- values.

-- Break-the-glass grants: a clinician's time-limited access to one person, with the reason given.
CREATE TABLE access_grant (
  id           uuid        PRIMARY KEY,
  person_id    text        NOT NULL,       -- the golden Patient's id (or the record's own id)
  patient_ref  text        NOT NULL,       -- the record named in the request
  issuer       text        NOT NULL,       -- token iss + sub: who may use the grant
  subject      text        NOT NULL,
  fhir_user    text,
  institution  text        NOT NULL,
  reason       text        NOT NULL,
  granted_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL
);
CREATE INDEX access_grant_person ON access_grant (person_id, subject, expires_at);
CREATE INDEX access_grant_institution ON access_grant (institution, granted_at);

-- The regional person of a record id (a compartment entry): its golden Patient when identity has
-- linked it, else the record stands for itself (a golden Patient is its own person).
CREATE FUNCTION hie_person_of(record_id text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT COALESCE(
    (SELECT person_id FROM identity_record WHERE patient_ref = 'Patient/' || record_id),
    record_id)
$$;

-- Every record id of a person: the golden record and the institutions' source records.
CREATE FUNCTION hie_person_records(person text) RETURNS text[] LANGUAGE sql STABLE AS $$
  SELECT array_append(
    COALESCE(array_agg(substr(patient_ref, 9)) FILTER (WHERE patient_ref LIKE 'Patient/%'), '{}'),
    person)
  FROM identity_record WHERE person_id = person
$$;

-- The owning institution of a resource, from meta.source = {base}/institution/{id}#{archive}.
-- (`resource.content` is json, not jsonb: see 002-exact-json-text.sql.)
CREATE FUNCTION hie_source_institution(content json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT substring(content -> 'meta' ->> 'source' FROM '/institution/([a-z0-9-]+)(?:#|$)')
$$;

-- Is the resource labelled sensitive (v3-ActCode HIV/PSY/SEX/ETH, v3-Confidentiality R)?
CREATE FUNCTION hie_is_sensitive(content json) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(jsonb_path_exists((content -> 'meta')::jsonb,
    '$.security[*] ? ((@.system == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
                             && (@.code == "HIV" || @.code == "PSY" || @.code == "SEX" || @.code == "ETH"))
                          || (@.system == "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
                             && (@.code == "R" || @.code == "V")))'), false)
$$;

-- A care relationship between a person (all their record ids) and an institution or practitioner:
-- an Encounter the institution provided since `since` (not entered in error, not cancelled); a referral (SNOMED 3457005) addressed to
-- it; a current family-doctor contract it manages or the practitioner manages; a CareTeam the
-- institution or the practitioner belongs to.
CREATE FUNCTION hie_care_relationship(
  records text[], institution text, practitioner text, since timestamptz, episode_type_system text
) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM resource e
    WHERE e.compartments && records AND NOT e.deleted
      AND e.resource_type IN ('Encounter', 'ServiceRequest', 'EpisodeOfCare', 'CareTeam')
      AND CASE e.resource_type
        WHEN 'Encounter' THEN
          -- An encounter recorded in error, or cancelled before it began, is no care.
          COALESCE(e.content ->> 'status', '') NOT IN ('entered-in-error', 'cancelled')
          AND EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'Encounter' AND x.resource_id = e.id
                    AND x.code = 'service-provider' AND x.target_type = 'Organization' AND x.target_id = institution)
          AND EXISTS (SELECT 1 FROM sp_date d WHERE d.resource_type = 'Encounter' AND d.resource_id = e.id
                    AND d.code = 'date' AND d.hi >= since)
        WHEN 'ServiceRequest' THEN
          COALESCE(e.content ->> 'status', '') NOT IN ('revoked', 'entered-in-error')
          AND EXISTS (SELECT 1 FROM sp_token t WHERE t.resource_type = 'ServiceRequest' AND t.resource_id = e.id
                    AND t.code = 'category' AND t.system = 'http://snomed.info/sct' AND t.value = '3457005')
          AND EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'ServiceRequest' AND x.resource_id = e.id
                    AND x.code = 'performer' AND x.target_type = 'Organization' AND x.target_id = institution)
        WHEN 'EpisodeOfCare' THEN
          COALESCE(e.content ->> 'status', '') IN ('planned', 'waitlist', 'active', 'onhold')
          AND EXISTS (SELECT 1 FROM sp_token t WHERE t.resource_type = 'EpisodeOfCare' AND t.resource_id = e.id
                    AND t.code = 'type' AND t.system = episode_type_system AND t.value = 'family-doctor-contract')
          AND EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'EpisodeOfCare' AND x.resource_id = e.id
                    AND ((x.code = 'organization' AND x.target_type = 'Organization' AND x.target_id = institution)
                      OR (x.code = 'care-manager' AND x.target_type = 'Practitioner' AND x.target_id = practitioner)))
          AND NOT EXISTS (SELECT 1 FROM sp_date d WHERE d.resource_type = 'EpisodeOfCare' AND d.resource_id = e.id
                    AND d.code = 'date' AND d.hi < now())
        ELSE
          COALESCE(e.content ->> 'status', '') NOT IN ('inactive', 'entered-in-error')
          AND EXISTS (SELECT 1 FROM sp_reference x WHERE x.resource_type = 'CareTeam' AND x.resource_id = e.id
                    AND x.code = 'participant'
                    AND ((x.target_type = 'Organization' AND x.target_id = institution)
                      OR (x.target_type = 'Practitioner' AND x.target_id = practitioner)))
      END)
$$;

-- The person's active privacy Consents (scope patient-privacy, category LOINC 59284-0).
CREATE FUNCTION hie_privacy_consents(records text[]) RETURNS SETOF jsonb LANGUAGE sql STABLE AS $$
  SELECT c.content::jsonb FROM resource c
  WHERE c.resource_type = 'Consent' AND NOT c.deleted AND c.compartments && records
    AND c.content ->> 'status' = 'active'
    AND jsonb_path_exists(c.content::jsonb, '$.scope.coding[*] ? (@.code == "patient-privacy")')
    AND jsonb_path_exists(c.content::jsonb, '$.category[*].coding[*] ? (@.system == "http://loinc.org" && @.code == "59284-0")')
$$;

-- Does consent let `institution` (the recipient) see the person at all? Denied when a provision
-- of type deny names it as recipient (IRCP), when a top-level deny names no actor (opt-out) and no
-- nested permit names the institution, or, under a default of deny, when no top-level permit
-- exists.
CREATE FUNCTION hie_consent_permits(records text[], institution text, default_permit boolean)
RETURNS boolean LANGUAGE sql STABLE AS $$
  WITH c AS (SELECT * FROM hie_privacy_consents(records) AS content),
  org AS (SELECT jsonb_build_object('org', 'Organization/' || institution) AS vars)
  SELECT
    NOT EXISTS (SELECT 1 FROM c, org WHERE jsonb_path_exists(c.content,
      '$.** ? (@.type == "deny").actor[*] ? (@.role.coding[*].code == "IRCP" && @.reference.reference == $org)', org.vars))
    AND NOT EXISTS (SELECT 1 FROM c, org WHERE c.content -> 'provision' ->> 'type' = 'deny'
      AND NOT jsonb_path_exists(c.content, '$.provision.actor')
      AND NOT jsonb_path_exists(c.content,
        '$.provision.provision[*] ? (@.type == "permit").actor[*] ? (@.role.coding[*].code == "IRCP" && @.reference.reference == $org)', org.vars))
    AND (default_permit OR EXISTS (SELECT 1 FROM c WHERE c.content -> 'provision' ->> 'type' = 'permit'))
$$;

-- Source institutions whose records of this person the person has withheld (deny with actor CST).
CREATE FUNCTION hie_consent_denied_sources(records text[]) RETURNS text[] LANGUAGE sql STABLE AS $$
  SELECT COALESCE(array_agg(DISTINCT substring(ref FROM '^Organization/(.+)$')), '{}')
  FROM hie_privacy_consents(records) AS c(content),
       LATERAL jsonb_path_query(c.content,
         '$.** ? (@.type == "deny").actor[*] ? (@.role.coding[*].code == "CST").reference.reference') AS r(j),
       LATERAL (SELECT r.j #>> '{}' AS ref) s
$$;

-- A clinician's (or privacy officer's) access to one person: a care relationship or an unexpired
-- break-the-glass grant of this caller, and a consent that does not deny the institution.
CREATE FUNCTION hie_clinician_may_see_person(
  person text, institution text, practitioner text, since timestamptz, episode_type_system text,
  caller_issuer text, caller_subject text, default_permit boolean
) RETURNS boolean LANGUAGE sql STABLE AS $$
  WITH p AS (SELECT hie_person_records(person) AS records)
  SELECT hie_consent_permits(p.records, institution, default_permit)
    AND (hie_care_relationship(p.records, institution, practitioner, since, episode_type_system)
      OR EXISTS (SELECT 1 FROM access_grant g WHERE g.person_id = person AND g.subject = caller_subject
                   AND g.issuer = caller_issuer AND g.expires_at > now()))
  FROM p
$$;
