/**
 * Structural validation at the repository's door: the R4 base definitions (elements, types,
 * cardinality, invariants) plus what JSON parsers and generic validators let through
 * (integers beyond 32 bits, empty strings, lone surrogates). Profile validation comes on top
 * in the mapping stage.
 */
export { validateStructure, type ValidateOptions } from './validate-structure.ts';
