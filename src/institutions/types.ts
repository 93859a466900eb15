import type { JsonWebKey } from 'node:crypto';

/**
 * Member institutions (CONTRACTS.md "Institutions registry"). The file `registry/institutions.json`
 * seeds the `institution` table, which is authoritative; every entry is projected to an
 * `Organization` whose id is the institution id.
 */
export type Tier =
  | 'county-hospital'
  | 'township-health-centre'
  | 'community-health-centre'
  | 'village-clinic'
  | 'shared-centre';

/** `hl7v2-mllp`, `hl7v2-http`, `csv:{feed}`, `json:{feed}`, `fhir`. */
export type InboundFormat = string;

/** The public shape, as `hie institutions --json` prints it. */
export interface InstitutionEntry {
  /** `^[a-z0-9-]{2,40}$`; also the Organization id and the OAuth client_id. */
  id: string;
  name: { zh: string; en: string };
  tier: Tier;
  partOf?: string;
  /** MSH-4 values this institution sends as. */
  facilityCodes: string[];
  formats: InboundFormat[];
  /** `+08:00` style offset; an HL7 TS without offset is in this zone. */
  timezone: string;
  /** Default charset when a message does not name one (`UTF-8`, `GB18030`). */
  charset: string;
}

/** What the exchange keeps beyond the public shape. */
export interface Institution extends InstitutionEntry {
  active: boolean;
  /** Where its backend-services keys are published, if it publishes them. */
  jwksUrl?: string;
  /** Registered public keys (JWK) for `private_key_jwt` when there is no JWKS URL. */
  publicKeys: JsonWebKey[];
  /** Source addresses allowed to send over MLLP as this institution (bound to its facility codes). */
  mllpAllowFrom: string[];
}

export interface InstitutionRegistry {
  get(id: string): Promise<Institution | undefined>;
  list(): Promise<Institution[]>;
  /** The active institution that owns an MSH-4 facility code. */
  byFacilityCode(code: string): Promise<Institution | undefined>;
}
