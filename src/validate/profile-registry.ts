import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StructureDefinition } from 'fhir/r4';

/** `<repo>/profiles`: the region's StructureDefinitions, NamingSystems, ValueSets, CodeSystems. */
export const DEFAULT_PROFILES_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../profiles',
);

/** The profiles this server can check, by canonical URL. */
export interface ProfileRegistry {
  get(url: string): StructureDefinition | undefined;
  urls(): string[];
  /** The region's profile for a resource type (`hie-patient` for Patient), enforced on `/ingest`. */
  forType(type: string): StructureDefinition | undefined;
}

export interface ProfileProblem {
  file: string;
  reason: string;
}

/** A profile folder that cannot be used: refused whole, naming every file and why. */
export class ProfileLoadError extends Error {
  constructor(readonly problems: ProfileProblem[]) {
    super(problems.map((p) => `${p.file}: ${p.reason}`).join('\n'));
    this.name = 'ProfileLoadError';
  }
}

/**
 * Builds a registry from StructureDefinitions. Only constraint profiles with a snapshot are
 * accepted: the validator (Medplum's) cannot check a differential-only profile, and a profile
 * silently not checked would be worse than one refused at load.
 */
export function createProfileRegistry(sds: { sd: StructureDefinition; file?: string }[]): ProfileRegistry {
  const byUrl = new Map<string, StructureDefinition>();
  const problems: ProfileProblem[] = [];
  for (const { sd, file = sd.url ?? '(unnamed StructureDefinition)' } of sds) {
    const reason = unusable(sd, byUrl);
    if (reason) problems.push({ file, reason });
    else byUrl.set(sd.url, sd);
  }
  if (problems.length) throw new ProfileLoadError(problems);
  const byType = new Map<string, StructureDefinition>();
  for (const sd of byUrl.values())
    if (sd.kind === 'resource' && sd.id === `hie-${sd.type.toLowerCase()}`) byType.set(sd.type, sd);
  return {
    get: (url) => byUrl.get(url),
    urls: () => [...byUrl.keys()].sort(),
    forType: (type) => byType.get(type),
  };
}

function unusable(sd: StructureDefinition, seen: Map<string, StructureDefinition>): string | undefined {
  if (typeof sd.url !== 'string' || !sd.url) return 'a StructureDefinition needs a url';
  if (seen.has(sd.url)) return `two StructureDefinitions share the url ${sd.url}`;
  if (typeof sd.name !== 'string' || !sd.name) return 'a StructureDefinition needs a name';
  if (typeof sd.type !== 'string' || !sd.type) return 'a StructureDefinition needs a type';
  if (!sd.snapshot?.element?.length)
    return 'no snapshot: commit the snapshot (SUSHI with snapshot generation, or the IG Publisher)';
  return undefined;
}

/** Reads every `*.json` below `dir`; StructureDefinitions become the registry, other resources are skipped. */
export function loadProfileRegistry(dir: string = DEFAULT_PROFILES_DIR): ProfileRegistry {
  const found: { sd: StructureDefinition; file: string }[] = [];
  const problems: ProfileProblem[] = [];
  for (const file of jsonFiles(dir)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push({ file, reason: `not JSON: ${(err as Error).message}` });
      continue;
    }
    if ((parsed as { resourceType?: unknown })?.resourceType === 'StructureDefinition')
      found.push({ sd: parsed as StructureDefinition, file });
  }
  if (problems.length) throw new ProfileLoadError(problems);
  return createProfileRegistry(found);
}

/** `*.json` files below `dir`, sorted (so load errors come in a stable order); none when it is absent. */
export function jsonFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => path.join(dir, n));
}

let shipped: ProfileRegistry | undefined;

/** The profiles shipped in `profiles/`, loaded once per process. */
export function knownProfiles(): ProfileRegistry {
  shipped ??= loadProfileRegistry();
  return shipped;
}
