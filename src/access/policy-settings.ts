import type { Config } from '../config/load-config.ts';

/** The policy's knobs, from configuration (CONTRACTS env vars). */
export interface PolicySettings {
  /** HIE_CARE_RELATIONSHIP_DAYS: how far back an encounter makes a care relationship. */
  careRelationshipDays: number;
  /** HIE_BTG_MINUTES: how long a break-the-glass grant lasts. */
  btgMinutes: number;
  /** HIE_CONSENT_DEFAULT: whether a person without a privacy Consent is shared. */
  consentDefault: 'permit' | 'deny';
  /** `{base}/CodeSystem/episode-type`: the family-doctor contract's EpisodeOfCare.type system. */
  episodeTypeSystem: string;
}

export function policySettings(config: Config): PolicySettings {
  return {
    careRelationshipDays: config.careRelationshipDays,
    btgMinutes: config.btgMinutes,
    consentDefault: config.consentDefault,
    episodeTypeSystem: `${config.canonicalBase}/CodeSystem/episode-type`,
  };
}
