import { createHash } from 'node:crypto';
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { Institution } from '../institutions/types.ts';
import type { Inbox } from '../inbox/types.ts';
import type { Logger } from '../kernel/logger.ts';
import { uuidv7 } from '../kernel/ids.ts';
import { parseFhirJson } from '../kernel/fhir-json.ts';
import { OperationOutcomeError, outcome } from '../kernel/outcomes.ts';
import { mapFhirPassthrough } from '../mapping/fhir/passthrough.ts';
import { MappingError, type MappedMessage } from '../mapping/types.ts';
import type { IngestQueue } from '../queue/types.ts';
import type { FhirModel } from '../repository/fhir-model.ts';
import { archiveAndEnqueue, type ArchiveParts } from './archive.ts';
import { acceptedOutcome, problemsToOutcome } from './outcomes.ts';
import type { Submission, Verdict } from './types.ts';
import { acceptedWarnings, checkMapped } from './validate-stage.ts';
import type { SensitivityRules } from '../mapping/sensitivity/index.ts';

export interface FhirStageParts extends ArchiveParts {
  /** Sensitivity rule table (`mappings/sensitivity/`); absent: nothing is labelled. */
  sensitivity?: SensitivityRules;
  inbox: Inbox;
  queue: IngestQueue;
  model: FhirModel;
  logger: Logger;
  canonicalBase: string;
  /** Ids of registered institutions (their Organizations are referenced as they are). */
  institutionIds: () => Promise<ReadonlySet<string>>;
}

/**
 * FHIR in (`POST /ingest/fhir`, `$process-message` content): parse → map (pass-through keyed to
 * the sender) → validate → archive → enqueue. Content errors are archived as `failed` too, so
 * IT staff see them and can replay them once fixed.
 */
export async function acceptFhir(parts: FhirStageParts, sub: Submission, body?: unknown): Promise<Verdict> {
  const id = uuidv7();
  const { mapped, failure, warnings } = await evaluateFhir(parts, sub.institution, sub.raw, id, body);
  const controlId = mapped?.controlId ?? createHash('sha256').update(sub.raw).digest('hex');
  const { message, resend } = await archiveAndEnqueue(parts, {
    id,
    institution: sub.institution.id,
    format: 'fhir',
    transport: sub.transport,
    type: mapped?.type,
    controlId,
    raw: sub.raw,
    charset: 'UTF-8',
    state: failure ? 'failed' : 'queued',
    outcome: failure ?? (warnings ? outcome(...warnings) : undefined),
    bundle: failure ? undefined : mapped?.bundle,
    eventTime: mapped?.eventTime,
  });
  if (resend) {
    return {
      message,
      resend,
      accepted: message.state !== 'failed',
      outcome: message.outcome ?? acceptedOutcome(message.id, true),
      format: 'fhir',
    };
  }
  return {
    message,
    resend,
    accepted: !failure,
    outcome: failure ?? outcome(...acceptedOutcome(message.id, false).issue, ...(warnings ?? [])),
    format: 'fhir',
  };
}

/** Parse → map → validate, without side effects: shared by intake and replay. */
export async function evaluateFhir(
  parts: FhirStageParts,
  institution: Institution,
  raw: Buffer,
  archiveId: string,
  body?: unknown,
): Promise<{ mapped?: MappedMessage; failure?: OperationOutcome; warnings?: OperationOutcomeIssue[] }> {
  try {
    const parsed = body ?? parseFhirJson(raw.toString('utf8'));
    const mapped = mapFhirPassthrough(
      parsed,
      { institution, canonicalBase: parts.canonicalBase, archiveId },
      await parts.institutionIds(),
    );
    const checked = checkMapped(parts, mapped.bundle);
    const problems = checked.filter((p) => p.severity === 'error');
    if (problems.length > 0) {
      return {
        mapped,
        failure: problemsToOutcome(
          problems.map((p) => ({ ...p, expression: unmapExpression(p.expression, mapped) })),
        ),
      };
    }
    // Warnings name the sender's own paths, as errors do.
    const warnings = acceptedWarnings(mapped, checked).map((w) => {
      const at = unmapExpression(w.expression?.[0], mapped);
      return at ? { ...w, expression: [at] } : w;
    });
    return { mapped, ...(warnings.length ? { warnings } : {}) };
  } catch (err) {
    if (err instanceof MappingError) return { failure: problemsToOutcome(err.problems) };
    if (err instanceof OperationOutcomeError && err.status < 500) return { failure: err.outcome };
    throw err;
  }
}

/**
 * Validation speaks of the mapped Bundle; the sender knows its own body. A pass-through keeps
 * entry order, so `Bundle.entry[i].resource` is the sender's entry i (a single resource: its root).
 */
function unmapExpression(expression: string | undefined, mapped: MappedMessage): string | undefined {
  if (!expression || mapped.type.startsWith('Bundle/')) return expression;
  // A message's content starts after its MessageHeader (entry 0 of the sender's Bundle).
  if (mapped.type.startsWith('message:')) {
    return expression.replace(/^Bundle\.entry\[(\d+)\]/, (_m, i: string) => `Bundle.entry[${Number(i) + 1}]`);
  }
  return expression.replace(/^Bundle\.entry\[0\]\.resource/, mapped.type);
}
