import { badRequest } from '../../kernel/outcomes.ts';

/** `W/"3"` for version 3: FHIR uses weak ETags holding the version id. */
export function etagFor(versionId: number): string {
  return `W/"${versionId}"`;
}

/** Reads an `If-Match` value (`W/"3"`, `"3"` or `3`) into a version number. */
export function parseIfMatch(value: string): number {
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(value);
  if (!m)
    throw badRequest(`If-Match must name a version, like W/"3"; got "${value}"`, undefined, 'HIE-REPO-010');
  return Number(m[1]);
}
