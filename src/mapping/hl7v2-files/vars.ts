import { chooseMrn, chooseNationalId } from './conversions.ts';
import { compileHl7Path, textsAt, type Hl7Group } from './paths.ts';

/**
 * FHIRPath sees an HL7 message through named variables: the mapping file's `vars` (name → HL7
 * path), read relative to the current segment group, as `%name` (a collection of strings, empty
 * when absent). Paths compile once at load; each is read only when an expression asks for it.
 */
export interface Hl7Vars {
  readonly names: readonly string[];
  /** The FHIRPath environment of one group: the run's base environment plus the variables. */
  envFor(group: Hl7Group, base: Record<string, unknown>): Record<string, unknown>;
}

const RESERVED = new Set([
  'root',
  'institution',
  'base',
  'trigger',
  'context',
  'resource',
  'ucum',
  'sct',
  'loinc',
]);

/** A variable: an HL7 path, or a CX list read as the CONTRACTS.md MRN or national ID. */
export type VarSpec = string | { path: string; as: 'mrn' | 'nationalId' };

export function compileVars(
  vars: Record<string, VarSpec> | undefined,
  refuse: (name: string, reason: string) => void,
): Hl7Vars {
  const readers = new Map<string, (group: Hl7Group) => string[]>();
  for (const [name, spec] of Object.entries(vars ?? {})) {
    if (RESERVED.has(name)) {
      refuse(name, `"${name}" is a reserved FHIRPath variable name`);
      continue;
    }
    try {
      const read = compileHl7Path(typeof spec === 'string' ? spec : spec.path);
      if (typeof spec === 'string') readers.set(name, (g) => textsAt(read, g));
      else {
        const choose = spec.as === 'mrn' ? chooseMrn : chooseNationalId;
        readers.set(name, (g) => {
          const v = read(g);
          const one = Array.isArray(v) ? v[0] : v;
          const text = one ? choose(one) : undefined;
          return text ? [text] : [];
        });
      }
    } catch (err) {
      refuse(name, (err as Error).message);
    }
  }
  // One prototype per mapping holds a getter per variable (defining properties per message is
  // slow); each group's environment is an object on it that remembers what it has read.
  const proto: Record<string, unknown> = {};
  for (const [name, read] of readers) {
    Object.defineProperty(proto, name, {
      enumerable: true,
      get(this: GroupEnv) {
        return (this[CACHE][name] ??= read(this[GROUP]));
      },
    });
  }
  return {
    names: [...readers.keys()],
    envFor(group, base) {
      const env = Object.create(proto) as GroupEnv;
      Object.assign(env, base);
      env[GROUP] = group;
      env[CACHE] = {};
      return env;
    },
  };
}

const GROUP = Symbol('group');
const CACHE = Symbol('cache');
interface GroupEnv extends Record<string, unknown> {
  [GROUP]: Hl7Group;
  [CACHE]: Record<string, string[]>;
}
