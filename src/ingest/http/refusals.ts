import express, { type Request, type RequestHandler } from 'express';
import { TRUNCATED, TRUNCATED_HEAD_BYTES } from '../../inbox/postgres-inbox.ts';
import type { InboundMessage, MessageFormat } from '../../inbox/types.ts';
import type { InstitutionRegistry } from '../../institutions/types.ts';
import { fail, issue, outcome, type IssueInput, type OperationOutcomeError } from '../../kernel/outcomes.ts';
import { tooLarge, type RefusedBody } from '../../pipeline/refused-stage.ts';
import type { Submission } from '../../pipeline/types.ts';
import { tapBody } from './body-tap.ts';
import { submittingInstitution } from './submitter.ts';

/** Keeps a body no stage could read as a failed message; undefined when the archive is away. */
export type KeepRefused = (
  sub: Submission,
  format: MessageFormat,
  refused: RefusedBody,
) => Promise<InboundMessage | undefined>;

export interface RefusalOptions {
  registry: InstitutionRegistry;
  maxBodyBytes: number;
  keep: KeepRefused;
}

/**
 * Refusals of the intake routes that still keep what was sent (nothing is lost without a trace):
 * `readBody` reads a body within HIE_MAX_BODY_BYTES and keeps the start of one over it (413);
 * `refuse` keeps a body refused for what it is (empty, not a message) and answers with its id.
 */
export function refusals(opts: RefusalOptions) {
  const raw = express.raw({ type: () => true, limit: opts.maxBodyBytes });

  /** `extra` adds what the route knows of the submission before its own handler runs (the feed). */
  const readBody =
    (format: MessageFormat, extra: (req: Request) => Partial<Submission> = () => ({})): RequestHandler =>
    (req, res, next) => {
      const tap = tapBody(req, TRUNCATED_HEAD_BYTES);
      raw(req, res, (err?: unknown) => {
        if ((err as { type?: string } | undefined)?.type !== 'entity.too.large') return next(err);
        const keepOversize = async () => {
          const institution = await submittingInstitution(res, opts.registry);
          const refusal = tooLarge('body', tap.size(), opts.maxBodyBytes);
          const kept = await opts.keep(
            { institution, transport: 'http', raw: tap.head(), ...extra(req) },
            format,
            { outcome: outcome(issue(refusal)), controlId: tap.digest(), flags: [TRUNCATED] },
          );
          return answer(413, refusal, kept, `; its first ${TRUNCATED_HEAD_BYTES} bytes are kept as message`);
        };
        keepOversize().then(next, next);
      });
    };

  /** Keeps the body as failed and returns the error to throw: `status`, the reason, `Location`. */
  const refuse = async (
    sub: Submission,
    format: MessageFormat,
    status: number,
    refusal: IssueInput,
  ): Promise<OperationOutcomeError> => {
    const kept = await opts.keep(sub, format, { outcome: outcome(issue(refusal)) });
    return answer(status, refusal, kept, '; kept as message');
  };

  /** The body as read, or (empty) a refusal that keeps it. */
  const nonEmpty = async (req: Request, sub: Omit<Submission, 'raw'>, format: MessageFormat) => {
    const b = req.body as unknown;
    if (Buffer.isBuffer(b) && b.length > 0) return b;
    throw await refuse({ ...sub, raw: Buffer.alloc(0) }, format, 400, {
      code: 'invalid',
      diagnostics: 'The body is empty',
    });
  };

  return { readBody, refuse, nonEmpty };
}

/** The refusal as an error answer; with `Location` and the message id when the body was kept. */
function answer(
  status: number,
  refusal: IssueInput,
  kept: InboundMessage | undefined,
  keptText: string,
): OperationOutcomeError {
  if (!kept) return fail(status, refusal);
  return fail(
    status,
    { ...refusal, diagnostics: `${refusal.diagnostics}${keptText} ${kept.id}` },
    { Location: `/ingest/messages/${kept.id}` },
  );
}
