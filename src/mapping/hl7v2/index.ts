import type { ParsedHl7 } from '../../parse/hl7v2/index.ts';
import type { MappedMessage, MappingContext } from '../types.ts';
import { ADT_TRIGGERS, mapAdt } from './adt.ts';
import { mapOru } from './oru.ts';
import { fail, MapState } from './state.ts';

/**
 * The first, built-in HL7 v2 mapping (ADT and ORU^R01) so that records flow end to end until
 * the mapping engine (issue 4) replaces it with mapping files. Output: a `transaction` Bundle
 * of conditional PUTs keyed by institution-scoped identifiers (CONTRACTS.md).
 *
 * Throws MappingError: kind `reject` (AR) for an unsupported message type (200) or event (201),
 * kind `error` (AE) for content problems (100–103) with their HL7 locations.
 */
export function mapHl7v2(msg: ParsedHl7, ctx: MappingContext): MappedMessage {
  const code = msg.messageCode;
  const evn = msg.segment('EVN');
  const trigger = msg.triggerEvent || (code === 'ADT' ? (evn?.get(1) ?? '') : '');
  const type = `${code}^${trigger}`;
  let st: MapState;
  if (code === 'ADT') {
    if (!ADT_TRIGGERS.includes(trigger)) {
      throw fail(
        `ADT^${trigger} is not supported (supported: ${ADT_TRIGGERS.join(', ')})`,
        msg.msh.at(9, undefined, 2),
        '201',
        'reject',
      );
    }
    st = new MapState(ctx, 'adt');
    st.eventTime = (st.time(evn, 6) ?? st.time(evn, 2) ?? st.time(msg.msh, 7))?.dateTime;
    mapAdt(msg, trigger, st);
  } else if (code === 'ORU') {
    if (trigger !== 'R01')
      throw fail(`ORU^${trigger} is not supported (only R01)`, msg.msh.at(9, undefined, 2), '201', 'reject');
    st = new MapState(ctx, 'oru');
    const withTime = msg.all('OBR').find((o) => o.has(22));
    st.eventTime = (st.time(withTime, 22) ?? st.time(msg.msh, 7))?.dateTime;
    mapOru(msg, st);
  } else {
    throw fail(
      `Message type "${code}" is not supported (ADT, ORU)`,
      msg.msh.at(9, undefined, 1),
      '200',
      'reject',
    );
  }
  return {
    type,
    controlId: msg.controlId,
    ...(st.eventTime ? { eventTime: st.eventTime } : {}),
    bundle: { resourceType: 'Bundle', type: 'transaction', entry: st.entries },
    issues: st.issues,
  };
}

export { ADT_TRIGGERS } from './adt.ts';
