import type { CodeSystem, ValueSet } from 'fhir/r4';

/** The canonical base of everything the region defines (CONTRACTS.md `{base}`). */
export const BASE = 'https://county-hie.org/fhir';

function codeSystem(
  id: string,
  title: string,
  description: string,
  concepts: [string, string][],
): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id,
    url: `${BASE}/CodeSystem/${id}`,
    name: id.replace(/(^|-)(\w)/g, (_, _d: string, c: string) => c.toUpperCase()),
    title,
    status: 'active',
    experimental: false,
    publisher: 'County HIE',
    description,
    caseSensitive: true,
    content: 'complete',
    count: concepts.length,
    concept: concepts.map(([code, display]) => ({ code, display })),
  };
}

/** A ValueSet of all codes of one of the CodeSystems above. */
function wholeSystem(cs: CodeSystem): ValueSet {
  return {
    resourceType: 'ValueSet',
    id: cs.id,
    url: `${BASE}/ValueSet/${cs.id}`,
    name: cs.name,
    title: cs.title,
    status: 'active',
    experimental: false,
    publisher: 'County HIE',
    description: `Every code of ${cs.url}.`,
    compose: { include: [{ system: cs.url }] },
  };
}

export const INSTITUTION_TIER = codeSystem(
  'institution-tier',
  'Member institution tier',
  'The tier of a member institution of the county medical community (CONTRACTS.md institutions registry).',
  [
    ['county-hospital', 'County hospital'],
    ['township-health-centre', 'Township health centre'],
    ['community-health-centre', 'Community health service centre'],
    ['village-clinic', 'Village clinic'],
    ['shared-centre', 'Shared service centre'],
  ],
);

export const IDENTIFIER_VERIFICATION = codeSystem(
  'identifier-verification',
  'Identifier verification',
  'Whether an identifier passed the checks its system defines (for the national resident ID: check digit, birth date, sex digit).',
  [
    ['verified', 'Verified'],
    ['unverified', 'Failed verification: kept, never used to link'],
  ],
);

export const CODE_SYSTEMS = [INSTITUTION_TIER, IDENTIFIER_VERIFICATION];
export const VALUE_SETS = CODE_SYSTEMS.map(wholeSystem);
