import { createHash } from 'node:crypto';
import { isConnectionError } from '../db/database.ts';
import type { InboundMessage } from '../inbox/types.ts';
import type { Institution } from '../institutions/types.ts';
import { uuidv7 } from '../kernel/ids.ts';
import { outcome } from '../kernel/outcomes.ts';
import { buildAck } from '../ingest/hl7v2/ack.ts';
import type { OperationOutcomeIssue } from 'fhir/r4';
import type { MappingError, MappingProblem } from '../mapping/types.ts';
import type { MappingSet } from '../mapping/engine/index.ts';
import {
  decodeHl7,
  encodeHl7,
  readHl7Header,
  splitHl7Messages,
  type ParsedHl7,
} from '../parse/hl7v2/index.ts';
import { archiveAndEnqueue } from './archive.ts';
import { hl7PlaceOf } from '../mapping/hl7-place.ts';
import type { FhirStageParts } from './fhir-stage.ts';
import { evaluateHl7, isForeignFacility, type Hl7Evaluation } from './hl7v2-evaluate.ts';
import type { Submission } from './types.ts';

/** One message's answer: its ACK (text) and the archived row. */
export interface Hl7Answer {
  ack: string;
  code: 'AA' | 'AE' | 'AR';
  message?: InboundMessage;
  foreignFacility: boolean;
  storageDown: boolean;
}

export interface Hl7BodyAnswer {
  answers: Hl7Answer[];
  charset: string;
  /** True when the body holds no MSH at all (HTTP answers 400). */
  noMessage: boolean;
}

/**
 * HL7 v2 intake for one body (HTTP: one or many messages; MLLP: one frame). Each message is
 * judged, archived (accepted or failed — nothing is lost) and only then acknowledged.
 */
export async function acceptHl7(
  parts: FhirStageParts & { mappings?: MappingSet },
  sub: Submission,
): Promise<Hl7BodyAnswer> {
  const institution = sub.institution;
  let text: string;
  let charset: string;
  let decodeFailure: MappingError | undefined;
  try {
    ({ text, charset } = decodeHl7(sub.raw, {
      ...(sub.contentTypeCharset ? { contentTypeCharset: sub.contentTypeCharset } : {}),
      defaultCharset: institution.charset,
    }));
  } catch (err) {
    if (!(err as MappingError).problems) throw err;
    decodeFailure = err as MappingError;
    // The header is ASCII in every accepted charset: read it to address the ACK, keep the bytes as they are.
    text = sub.raw.toString('latin1');
    charset = 'ISO-8859-1';
  }
  const texts = splitHl7Messages(text);
  if (!texts.some((t) => t.startsWith('MSH'))) {
    await archiveAndEnqueue(parts, {
      id: uuidv7(),
      institution: institution.id,
      format: 'hl7v2',
      transport: sub.transport,
      controlId: createHash('sha256').update(sub.raw).digest('hex'),
      raw: sub.raw,
      state: 'failed',
      outcome: {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'structure',
            diagnostics: 'No HL7 v2 message (no MSH segment) in the body',
          },
        ],
      },
    });
    return { answers: [], charset, noMessage: true };
  }
  const answers: Hl7Answer[] = [];
  for (const t of texts) {
    const id = uuidv7();
    // One message in the body: keep its bytes exactly; several: each is re-encoded in the body's charset.
    const raw = texts.length === 1 ? sub.raw : encodeHl7(t, charset);
    const evaluation: Hl7Evaluation = decodeFailure
      ? {
          // Its header is ASCII: the AE names its control id (MSA-2), sender and receiver swapped,
          // and the row carries its type and MSH-10, so the sender can match the answer.
          ...withParsed(readHl7Header(t)?.parsed),
          failure: { kind: 'error', problems: decodeFailure.problems, outcome: outcomeOf(decodeFailure) },
        }
      : evaluateHl7(t, institution, id, parts);
    answers.push(await archiveAndAck(parts, sub, institution, id, raw, charset, t, evaluation));
  }
  return { answers, charset, noMessage: false };
}

async function archiveAndAck(
  parts: FhirStageParts,
  sub: Submission,
  institution: Institution,
  id: string,
  raw: Buffer,
  charset: string,
  text: string,
  e: Hl7Evaluation,
): Promise<Hl7Answer> {
  const ackId = id.replace(/-/g, '').slice(-20);
  const foreignFacility = isForeignFacility(e);
  try {
    const { message, resend } = await archiveAndEnqueue(parts, {
      id,
      institution: institution.id,
      format: 'hl7v2',
      transport: sub.transport,
      ...(e.parsed?.messageType ? { type: e.parsed.messageType } : {}),
      controlId: e.parsed?.controlId || createHash('sha256').update(text).digest('hex'),
      raw,
      charset,
      state: e.failure ? 'failed' : 'queued',
      ...(e.failure ? { outcome: e.failure.outcome } : e.warnings ? { outcome: outcome(...e.warnings) } : {}),
      ...(e.mapped && !e.failure ? { bundle: e.mapped.bundle } : {}),
      ...(e.mapped?.eventTime ? { eventTime: e.mapped.eventTime } : {}),
    });
    if (resend) {
      const code = message.state === 'failed' ? 'AE' : 'AA';
      const ack = buildAck(e.parsed, {
        code,
        controlId: ackId,
        text: `Already received as message ${message.id}`,
      });
      return { ack, code, message, foreignFacility, storageDown: false };
    }
    if (e.failure) {
      const code = e.failure.kind === 'reject' ? 'AR' : 'AE';
      const ack = buildAck(e.parsed, {
        code,
        controlId: ackId,
        problems: e.failure.problems,
        text: e.failure.problems[0]?.text,
      });
      return { ack, code, message, foreignFacility, storageDown: false };
    }
    const ack = buildAck(e.parsed, {
      code: 'AA',
      controlId: ackId,
      text: `Accepted as message ${message.id}`,
      ...(e.warnings ? { problems: e.warnings.map(warningProblem) } : {}),
    });
    return { ack, code: 'AA', message, foreignFacility, storageDown: false };
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    // Nothing could be kept, so nothing is acknowledged: AR with 207, the sender resends later.
    parts.logger.error({ err: (err as Error).message }, 'inbound archive unavailable; answering AR');
    const ack = buildAck(e.parsed, {
      code: 'AR',
      controlId: ackId,
      text: 'Storage unavailable; resend later',
      problems: [
        {
          severity: 'error',
          text: 'Storage unavailable; resend later',
          hl7: { segment: 'MSH', sequence: 1, code: '207' },
        },
      ],
    });
    return { ack, code: 'AR', foreignFacility, storageDown: true };
  }
}

/** An accepted message's warning as an ERR segment (severity W; the place as the mapping named it). */
function warningProblem(i: OperationOutcomeIssue): MappingProblem {
  const hl7 = hl7PlaceOf(i);
  return {
    severity: 'warning',
    text: i.expression?.[0] ? `${i.expression[0]}: ${i.diagnostics ?? i.code}` : (i.diagnostics ?? i.code),
    ...(hl7 ? { hl7 } : {}),
  };
}

const withParsed = (parsed: ParsedHl7 | undefined) => (parsed ? { parsed } : {});

function outcomeOf(err: MappingError) {
  return {
    resourceType: 'OperationOutcome' as const,
    issue: err.problems.map((p) => ({ severity: p.severity, code: 'invalid' as const, diagnostics: p.text })),
  };
}
