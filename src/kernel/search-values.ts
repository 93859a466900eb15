/**
 * A value in a FHIR search, escaped as the specification asks (R4 §3.1.1.5.8 "Escaping search
 * parameters"): `\` `,` `$` and `|` mean something there, so a business identifier holding one
 * (`L-1,5`) would otherwise be read as two keys, or as a system and a value, and never match —
 * every message about that record would create it again.
 */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\,$|]/g, (c) => `\\${c}`);
}

/** `identifier=system|value`, escaped and URL-encoded, for a conditional key. */
export function identifierCriteria(system: string, value: string): string {
  return `identifier=${encodeURIComponent(escapeSearchValue(system))}|${encodeURIComponent(escapeSearchValue(value))}`;
}
