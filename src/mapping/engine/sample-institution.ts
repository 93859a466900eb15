import type { Institution } from '../../institutions/types.ts';
import type { CompiledMapping } from './index.ts';

/**
 * A stand-in institution for trying a mapping on a sample when no registered one is named
 * (`hie mapping test`, `POST /admin/mappings/{id}/$test`): it sends the mapping's feed (HL7 over HTTP), in the
 * region's default timezone and charset.
 */
export function sampleInstitution(id: string, m: CompiledMapping): Institution {
  return {
    id,
    name: { zh: '样例机构', en: 'Sample institution' },
    tier: 'village-clinic',
    facilityCodes: [],
    formats: [m.format === 'hl7v2' ? 'hl7v2-http' : `${m.format}:${m.feed}`],
    timezone: '+08:00',
    charset: 'UTF-8',
    active: true,
    publicKeys: [],
    mllpAllowFrom: [],
  };
}
