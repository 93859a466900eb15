/**
 * FHIR search over the index tables. The face of this folder: `search` for GET searches,
 * `searchResultToBundle` for the answer, `findIds` for conditional writes and references.
 */
export { search, findIds, findIdsMany, searchUrl } from './run-search.ts';
export { searchResultToBundle, SUBSETTED } from './bundle.ts';
export { normalizeSearchString } from './param-values.ts';
export { DEFAULT_COUNT, MAX_COUNT } from './parse-request.ts';
export type { SearchRequest, SearchResult, SummaryMode, VisibleIf } from './types.ts';
