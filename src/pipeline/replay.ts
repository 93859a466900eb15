import type { OperationOutcomeIssue } from 'fhir/r4';
import type { InboundMessage } from '../inbox/types.ts';
import type { InstitutionRegistry } from '../institutions/types.ts';
import { TRUNCATED } from '../inbox/postgres-inbox.ts';
import { issue, notFound, notSupported, outcome } from '../kernel/outcomes.ts';
import { acceptedOutcome } from './outcomes.ts';
import { evaluateFhir, type FhirStageParts } from './fhir-stage.ts';
import type { Verdict } from './types.ts';

/** The stages of one format, run again on an archived message's raw bytes (no side effects). */
export type Evaluate = (message: InboundMessage) => Promise<{
  mapped?: { type: string; eventTime?: string; bundle: unknown };
  failure?: Verdict['outcome'];
  /** Accepted with these warnings: kept with the accepted note. */
  warnings?: OperationOutcomeIssue[];
}>;

/**
 * `$replay`: the same stages as intake, from the raw bytes, under the same archive id (so
 * `meta.source` still names it); the verdict replaces the old one and a success is enqueued.
 * A message already stored is replayed too — the writes are idempotent (institution-scoped keys).
 */
export function createReplay(
  parts: FhirStageParts,
  registry: InstitutionRegistry,
  evaluators: Partial<Record<InboundMessage['format'], Evaluate>>,
) {
  const fhir: Evaluate = async (m) => {
    const institution = await registry.get(m.institution);
    if (!institution) throw notFound(`Institution ${m.institution} is no longer registered`);
    return evaluateFhir(parts, institution, m.raw, m.id);
  };
  const all: Partial<Record<InboundMessage['format'], Evaluate>> = { fhir, ...evaluators };
  return async function replay(message: InboundMessage): Promise<Verdict> {
    if (message.flags.includes(TRUNCATED)) {
      // Only the start of the body was kept: replaying it would judge (or write) part of a message.
      return {
        message,
        resend: false,
        accepted: false,
        outcome: outcome(
          issue({
            code: 'incomplete',
            diagnostics:
              'Only the start of this body was kept (it was over HIE_MAX_BODY_BYTES): it cannot be replayed; the sender must send it again in smaller parts',
            hieCode: 'HIE-HTTP-001',
          }),
        ),
        format: message.format,
      };
    }
    const evaluate = all[message.format];
    if (!evaluate) throw notSupported(`Messages of format ${message.format} cannot be replayed yet`, 422);
    const { mapped, failure, warnings } = await evaluate(message);
    const accepted = outcome(...acceptedOutcome(message.id, false).issue, ...(warnings ?? []));
    await parts.inbox.replace(message.id, {
      state: failure ? 'failed' : 'queued',
      outcome: failure ?? accepted,
      ...(mapped && !failure
        ? {
            bundle: mapped.bundle as any,
            type: mapped.type,
            ...(mapped.eventTime ? { eventTime: mapped.eventTime } : {}),
          }
        : {}),
    });
    if (!failure) {
      try {
        await parts.queue.requeue(message.id);
      } catch (err) {
        parts.logger.warn(
          { messageId: message.id, err: (err as Error).message },
          'enqueue after replay failed; the reconciler will enqueue it',
        );
      }
    }
    const after = (await parts.inbox.get(message.id)) ?? message;
    return {
      message: after,
      resend: false,
      accepted: !failure,
      outcome: failure ?? accepted,
      format: message.format,
    };
  };
}
