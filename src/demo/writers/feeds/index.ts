/**
 * The demo county's writers for the CSV, JSON and FHIR channels: each renders one institution's
 * care events in that institution's own export format, as files `hie demo send` replays.
 */
export { renderVillageVisitsCsv, VILLAGE_VISIT_COLUMNS } from './village-visits.ts';
export { renderVillageReferralsCsv, VILLAGE_REFERRAL_COLUMNS } from './village-referrals.ts';
export { renderFamilyDoctorContractsCsv, FAMILY_DOCTOR_CONTRACT_COLUMNS } from './family-doctor-contracts.ts';
export { renderTownshipHisJson } from './township-his.ts';
export { renderFhirBundles, demoCanonicalBase } from './fhir-bundles.ts';
export { badFeedFiles } from './bad-files.ts';
