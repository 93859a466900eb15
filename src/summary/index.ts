export { buildSummary, institutionOf, type InstitutionLookup, type VisibleFilter } from './build-summary.ts';
export { dedupe, sameFactKeys, loadIcdTranslations } from './dedupe.ts';
export { everythingPage, parseEverythingQuery } from './everything.ts';
export { narrativeLanguage } from './narrative.ts';
export {
  everythingOperation,
  type AuditedResponse,
  summaryCapabilityOperations,
  summaryOperation,
  type SummaryOperationDeps,
} from './operations.ts';
export { resolvePerson, type Person } from './person.ts';
export { loadRecognitionList, recognisedItemOf, type RecognitionList } from './recognition.ts';
export { DEFAULT_RULES, selectEntries, type SelectionRules } from './select-entries.ts';
export { SummaryCache, type SummaryCacheSettings } from './summary-cache.ts';
