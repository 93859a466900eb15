import type { Bundle } from 'fhir/r4';
import { loadFhirModel } from '../../../src/repository/fhir-model.ts';
import { validateStructure } from '../../../src/repository/validation/index.ts';
import type { Institution } from '../../../src/institutions/types.ts';
import type { MappedMessage, MappingContext } from '../../../src/mapping/types.ts';
import { shippedMappings } from '../../../src/mapping/engine/index.ts';
import { mapHl7Message } from '../../../src/mapping/hl7v2-files/map-message.ts';
import type { ParsedHl7 } from '../../../src/parse/hl7v2/index.ts';

export const BASE = 'https://county-hie.org/fhir';

export const INSTITUTION: Institution = {
  id: 'xq-township',
  name: { zh: '新桥镇卫生院', en: 'Xinqiao Township Health Centre' },
  tier: 'township-health-centre',
  facilityCodes: ['XQWSY'],
  formats: ['hl7v2-mllp', 'hl7v2-http'],
  timezone: '+08:00',
  charset: 'UTF-8',
  active: true,
  publicKeys: [],
  mllpAllowFrom: ['127.0.0.1'],
};

export const CTX: MappingContext = {
  institution: INSTITUTION,
  canonicalBase: BASE,
  archiveId: '0190a1b2-0000-7000-8000-000000000001',
};

/** Every entry's resource through the repository's structural validator: errors only. */
export function structuralErrors(bundle: Bundle): string[] {
  const model = loadFhirModel();
  return (bundle.entry ?? []).flatMap((e, i) =>
    validateStructure(model, e.resource as unknown as Record<string, unknown>, {
      pathPrefix: `Bundle.entry[${i}].resource`,
    })
      .filter((x) => x.severity === 'error' || x.severity === 'fatal')
      .map((x) => `${x.expression?.join(',')}: ${x.diagnostics}`),
  );
}

/** A message through the shipped mapping files, as the gateway selects them (AR when none). */
export function mapHl7(msg: ParsedHl7, ctx: MappingContext = CTX): MappedMessage {
  return mapHl7Message(shippedMappings(), msg, ctx);
}
