/**
 * The two facts about one resource the policy reads from its content — the same facts the SQL
 * functions `hie_source_institution` and `hie_is_sensitive` (migration 008) read, kept equal by
 * test/access/resource-labels.int.test.ts.
 */
type Json = Record<string, any>;

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const SENSITIVE_ACT_CODES = new Set(['HIV', 'PSY', 'SEX', 'ETH']);
const RESTRICTED_CONFIDENTIALITY = new Set(['R', 'V']);

/** The owning institution named by `meta.source = {base}/institution/{id}#{archive}`. */
export function sourceInstitution(resource: Json): string | undefined {
  const source = resource.meta?.source;
  if (typeof source !== 'string') return undefined;
  return /\/institution\/([a-z0-9-]+)(?:#|$)/.exec(source)?.[1];
}

/** Whether `meta.security` labels the resource sensitive (CONTRACTS "Access, consent, audit"). */
export function isSensitive(resource: Json): boolean {
  const raw: unknown = resource.meta?.security;
  // A single object where FHIR has a list counts as a list of one, as the SQL function's lax
  // JSON path reads it: the two must agree, and on malformed content the safe side is to hide.
  const labels: Json[] = Array.isArray(raw) ? raw : raw !== null && typeof raw === 'object' ? [raw] : [];
  return labels.some(
    (c: Json) =>
      (c?.system === ACT_CODE && SENSITIVE_ACT_CODES.has(c.code)) ||
      (c?.system === CONFIDENTIALITY && RESTRICTED_CONFIDENTIALITY.has(c.code)),
  );
}
