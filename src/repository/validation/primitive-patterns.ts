/**
 * The R4 regular expressions of the primitive types (FHIR R4 §2.24.0.1 "Primitive Types"),
 * anchored. Types whose value is any non-empty text (string, markdown) have none.
 */
const YEAR = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const MONTH = '(0[1-9]|1[0-2])';
const DAY = '(0[1-9]|[1-2][0-9]|3[0-1])';
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
const ZONE = '(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';

const anchored = (source: string) => new RegExp(`^(?:${source})$`);

export const PRIMITIVE_PATTERNS: Record<string, RegExp> = {
  date: anchored(`${YEAR}(-${MONTH}(-${DAY})?)?`),
  dateTime: anchored(`${YEAR}(-${MONTH}(-${DAY}(T${TIME}${ZONE})?)?)?`),
  instant: anchored(`${YEAR}-${MONTH}-${DAY}T${TIME}${ZONE}`),
  time: anchored(TIME),
  code: anchored('[^\\s]+(\\s[^\\s]+)*'),
  id: anchored('[A-Za-z0-9\\-\\.]{1,64}'),
  oid: anchored('urn:oid:[0-2](\\.(0|[1-9][0-9]*))+'),
  uuid: anchored('urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'),
  uri: anchored('\\S*'),
  url: anchored('\\S*'),
  canonical: anchored('\\S*'),
  base64Binary: anchored('(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+'),
  xhtml: /^\s*<div[\s>]/,
};
