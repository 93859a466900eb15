/** Administration over HTTP: mappings (list, dry-run test) and ConceptMap/$translate. */
export { mappingsRoutes, type MappingsRoutesDeps } from './mappings-routes.ts';
export { mapSample, type SampleMessage } from './map-sample.ts';
export { requireAdmin } from './require-admin.ts';
export {
  translateOperation,
  translateCapabilityOperation,
  TRANSLATE_OPERATION_DEFINITION,
} from './translate-operation.ts';
export {
  translateCodes,
  type TranslateAnswer,
  type TranslateMatch,
  type TranslateQuery,
} from './concept-translate.ts';
