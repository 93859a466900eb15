/**
 * The mapping engine for CSV and JSON feeds and HL7 v2 messages: data files in mappings/ compiled
 * into plain functions.
 */
export {
  loadMappings,
  loadMappingsSync,
  shippedMappings,
  mappingFiles,
  compileMappingFile,
  mappingSet,
  DEFAULT_MAPPINGS_DIR,
  type MappingSet,
  type Hl7Selection,
} from './load.ts';
export type { CompiledMapping, MappingFile } from './compile.ts';
export { loadConceptMaps, parseConceptMap, type LoadedConceptMap, type Translation } from './conceptmaps.ts';
export { MappingLoadError, formatProblem, type LoadProblem } from './problems.ts';
