import type { ParsedHl7 } from '../../parse/hl7v2/index.ts';
import { eventTypeOf } from '../engine/compile.ts';
import type { MappingSet } from '../engine/index.ts';
import { MappingError, type MappedMessage, type MappingContext } from '../types.ts';

/**
 * An HL7 v2 message → its mapping file (the most specific for the sender, sending application
 * and event) → a MappedMessage. No file for the event: AR — 201 when other events of that message
 * type are handled (naming them), 200 when the message type is not handled at all.
 */
export function mapHl7Message(mappings: MappingSet, msg: ParsedHl7, ctx: MappingContext): MappedMessage {
  const messageType = eventTypeOf(msg);
  const file = mappings.selectHl7({
    institution: ctx.institution.id,
    application: msg.sendingApplication,
    messageType,
  });
  if (file) return file.map(msg, ctx);
  const handled = [
    ...new Set(
      mappings.mappings
        .filter((m) => m.institutions === undefined || m.institutions.includes(ctx.institution.id))
        .flatMap((m) => m.messageTypes ?? []),
    ),
  ].sort();
  const code = msg.messageCode;
  const events = handled.filter((t) => t.startsWith(`${code}^`)).map((t) => t.slice(code.length + 1));
  if (code && events.length)
    throw new MappingError(
      [
        {
          severity: 'error',
          text: `${messageType} is not supported (supported ${code} events: ${events.join(', ')})`,
          hl7: { segment: 'MSH', sequence: 1, field: 9, component: 2, code: '201' },
        },
      ],
      'reject',
    );
  const codes = [...new Set(handled.map((t) => t.split('^')[0]))];
  throw new MappingError(
    [
      {
        severity: 'error',
        text: `Message type "${code}" is not supported (${codes.join(', ')})`,
        hl7: { segment: 'MSH', sequence: 1, field: 9, component: 1, code: '200' },
      },
    ],
    'reject',
  );
}
