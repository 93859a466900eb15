/** Mappings that follow `mappings/` on disk: hot reload, use counts, the last refused load. */
export {
  createLiveMappings,
  isLiveMappings,
  type LiveMappings,
  type LiveMappingsOptions,
  type LoadFailure,
  type MappingUsage,
} from './live-mappings.ts';
export {
  readConceptMapResources,
  staticConceptMapSource,
  type ConceptMapSource,
} from './concept-map-resources.ts';
export { watchTree, type TreeWatcher, type WatchMode } from './watch-tree.ts';
