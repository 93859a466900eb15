import { withSnapshot } from '../../src/validate/snapshot-unfold.ts';
import { EXTENSIONS, PROFILES } from './region-profiles.ts';
import { CODE_SYSTEMS, VALUE_SETS } from './terminology.ts';

/** Every file the build writes below `profiles/`, with its content. */
export function regionDefinitions(): { folder: string; file: string; resource: { id?: string } }[] {
  return [
    ...[...PROFILES, ...EXTENSIONS].map((sd) => ({
      folder: 'structure-definitions',
      file: `${sd.id}.json`,
      resource: withSnapshot(sd),
    })),
    ...CODE_SYSTEMS.map((cs) => ({ folder: 'terminology', file: `CodeSystem-${cs.id}.json`, resource: cs })),
    ...VALUE_SETS.map((vs) => ({ folder: 'terminology', file: `ValueSet-${vs.id}.json`, resource: vs })),
  ];
}
