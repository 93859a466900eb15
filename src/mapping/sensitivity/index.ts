/** Sensitivity labels (meta.security) from the versioned rule table in mappings/sensitivity/. */
export {
  loadSensitivityRules,
  parseSensitivityRules,
  DEFAULT_SENSITIVITY_RULES,
  CONFIDENTIALITY_SYSTEM,
  type SensitivityRules,
  type SensitivityRule,
  type SensitivityLoadOptions,
} from './load.ts';
export { labelBundle, labelResource, type LabelResult } from './label.ts';
export { normaliseCode } from './codes.ts';
