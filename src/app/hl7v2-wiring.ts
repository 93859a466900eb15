import type { Config } from '../config/load-config.ts';
import { TRUNCATED } from '../inbox/postgres-inbox.ts';
import type { InboundMessage } from '../inbox/types.ts';
import type { InstitutionRegistry } from '../institutions/types.ts';
import { uuidv7 } from '../kernel/ids.ts';
import { badRequest, fail, forbidden, issue, notFound, outcome } from '../kernel/outcomes.ts';
import { buildAck } from '../ingest/hl7v2/ack.ts';
import { httpAcks, mllpReply, type AnsweredMessage } from '../ingest/hl7v2/accept-ack.ts';
import { acceptAckWanted, ackModesOfBody } from '../ingest/hl7v2/ack-mode.ts';
import { decodeHl7, encodeHl7, readHl7Header, type ParsedHl7 } from '../parse/hl7v2/index.ts';
import type { FhirStageParts } from '../pipeline/fhir-stage.ts';
import { evaluateHl7 } from '../pipeline/hl7v2-evaluate.ts';
import { acceptHl7, type Hl7Answer } from '../pipeline/hl7v2-stage.ts';
import { keepRefused, tooLarge } from '../pipeline/refused-stage.ts';
import type { Evaluate } from '../pipeline/replay.ts';
import type { Submission } from '../pipeline/types.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * The HL7 v2 stage on its two edges. HTTP (CONTRACTS "Inbound answers"): 200 + one ACK per
 * message, one per line, `Location` of the first; 400 without any MSH; 403 for another
 * facility's message; 503 + AR when storage is down. MLLP: the same ACKs, one per frame.
 *
 * Enhanced mode (MSH-15 or MSH-16 valued): the ACK is the accept acknowledgement (CA/CE/CR).
 * Over MLLP it is sent only when MSH-15 asks for it (AL, ER on error, SU on success, NE never);
 * HTTP always answers every message, since a response is due anyway. Application
 * acknowledgements (MSH-16) are not sent: there is no return channel to the sender; the outcome
 * is at `/ingest/messages/{id}`.
 */
export function hl7v2Edges(parts: FhirStageParts, registry: InstitutionRegistry, config: Config) {
  async function acceptHttp(sub: Submission) {
    const { answers, charset, noMessage } = await acceptHl7(parts, sub);
    if (noMessage)
      throw badRequest('The body holds no HL7 v2 message (no MSH segment)', undefined, 'HIE-HL7-001');
    if (answers.some((a) => a.foreignFacility)) {
      throw forbidden(
        `A message names a sending facility (MSH-4) that is not ${sub.institution.id}'s; messages are kept as failed`,
      );
    }
    const modes = ackModesOfBody(sub.raw, decodeOptions(sub));
    const body = encodeHl7(httpAcks(answers.map(answered), modes).join('\n'), charset);
    const storageDown = answers.some((a) => a.storageDown);
    const first = answers.find((a) => a.message)?.message;
    return {
      status: storageDown ? 503 : 200,
      body,
      contentType: `x-application/hl7-v2+er7; charset=${charset}`,
      ...(first ? { location: `/ingest/messages/${first.id}` } : {}),
    };
  }

  /**
   * One MLLP frame. The sender is the institution named by its TLS client certificate (subject
   * CN = institution id), whose facility codes must include MSH-4; without TLS, the institution
   * owning MSH-4, and the peer address must be on its allow-list (the embedded demo allows loopback).
   */
  async function acceptMllp(
    raw: Buffer,
    peer: { address: string; certificate?: object },
    oversize?: { size: number },
  ): Promise<Buffer> {
    const header = readHl7Header(raw);
    const byFacility = header?.facility ? await registry.byFacilityCode(header.facility) : undefined;
    const certCn = (peer.certificate as { subject?: { CN?: unknown } } | undefined)?.subject?.CN;
    let institution = byFacility;
    let allowed: boolean;
    if (typeof certCn === 'string') {
      const byCert = await registry.get(certCn);
      institution = byCert ?? byFacility;
      allowed =
        byCert !== undefined &&
        byCert.active &&
        byFacility?.id === byCert.id &&
        byCert.formats.includes('hl7v2-mllp');
    } else {
      allowed =
        byFacility !== undefined &&
        byFacility.formats.includes('hl7v2-mllp') &&
        (byFacility.mllpAllowFrom.includes(peer.address) ||
          (config.demoIssuer && LOOPBACK.has(peer.address)));
    }
    if (!institution || !allowed) {
      const text = institution
        ? typeof certCn === 'string'
          ? `The client certificate (${certCn}) may not send for sending facility "${header?.facility ?? ''}"`
          : `${peer.address} may not send over MLLP as ${institution.id}`
        : `Sending facility (MSH-4) "${header?.facility ?? ''}" is not a member of the exchange`;
      const mode = ackModesOfBody(raw, { defaultCharset: institution?.charset ?? 'UTF-8' })[0];
      // Not stored: a sender who wants no refusal back (NE, SU) learns it from the closed connection.
      if (mode && !acceptAckWanted(mode, 'AR')) throw new Error(`refused unacknowledged: ${text}`);
      return Buffer.from(
        buildAck(header?.parsed, {
          code: 'AR',
          controlId: uuidv7().replace(/-/g, '').slice(-20),
          text,
          ...(mode ? { mode } : {}),
          problems: [
            { severity: 'error', text, hl7: { segment: 'MSH', sequence: 1, field: 4, code: '204' } },
          ],
        }),
        'utf8',
      );
    }
    const sub: Submission = { institution, transport: 'mllp', raw };
    if (oversize) return refuseOversize(sub, header?.parsed, oversize.size);
    const { answers, charset, noMessage } = await acceptHl7(parts, sub);
    if (noMessage) return Buffer.from(noMessageAck(), 'utf8');
    const reply = mllpReply(answers.map(answered), ackModesOfBody(raw, decodeOptions(sub)));
    if (reply.drop) throw new Error('a message was neither stored nor acknowledged (MSH-15 NE/SU)');
    // No ACK wanted (MSH-15 NE, or ER on success…): an empty answer, the listener writes nothing.
    if (reply.acks.length === 0) return Buffer.alloc(0);
    return encodeHl7(reply.acks.join('\r'), charset);
  }

  /**
   * A message over the maximum size, of which only the start arrived here: kept as failed
   * (flagged truncated, not replayable) and refused with AR, which tells the sender not to send
   * it again unchanged — closing the connection instead made senders resend it for ever, holding
   * up everything queued behind it.
   */
  async function refuseOversize(
    sub: Submission,
    parsed: ParsedHl7 | undefined,
    size: number,
  ): Promise<Buffer> {
    const refusal = tooLarge('message', size, config.maxBodyBytes);
    const text = refusal.diagnostics;
    const kept = await keepRefused(parts, sub, 'hl7v2', {
      outcome: outcome(issue(refusal)),
      ...(parsed?.controlId ? { controlId: parsed.controlId } : {}),
      flags: [TRUNCATED],
      ...(parsed?.messageType ? { type: parsed.messageType } : {}),
    });
    const mode = ackModesOfBody(sub.raw, decodeOptions(sub))[0];
    if (mode && !acceptAckWanted(mode, 'AR')) {
      if (!kept) throw new Error('an over-size message was neither kept nor may it be refused (MSH-15)');
      return Buffer.alloc(0);
    }
    const answer = kept ? `${text}; its first ${sub.raw.length} bytes are kept as message ${kept.id}` : text;
    return Buffer.from(
      buildAck(parsed, {
        code: 'AR',
        controlId: uuidv7().replace(/-/g, '').slice(-20),
        text: answer,
        ...(mode ? { mode } : {}),
        problems: [{ severity: 'error', text: answer, hl7: { segment: 'MSH', sequence: 1, code: '207' } }],
      }),
      'utf8',
    );
  }

  /** Replay: the same evaluation on the archived bytes, under the message's own id. */
  const evaluate: Evaluate = async (m: InboundMessage) => {
    const institution = await registry.get(m.institution);
    if (!institution) throw notFound(`Institution ${m.institution} is no longer registered`);
    const { text } = decodeHl7(m.raw, {
      ...(m.charset ? { contentTypeCharset: m.charset } : {}),
      defaultCharset: institution.charset,
    });
    const e = evaluateHl7(text, institution, m.id, parts);
    if (e.failure) return { failure: e.failure.outcome };
    if (!e.mapped)
      throw fail(500, {
        code: 'exception',
        diagnostics: 'HL7 evaluation gave neither a mapping nor a failure',
      });
    return { mapped: e.mapped, ...(e.warnings ? { warnings: e.warnings } : {}) };
  };

  return { acceptHttp, acceptMllp, evaluate };
}

function answered(a: Hl7Answer): AnsweredMessage {
  return { ack: a.ack, code: a.code, stored: a.message !== undefined };
}

function decodeOptions(sub: Submission) {
  return {
    ...(sub.contentTypeCharset ? { contentTypeCharset: sub.contentTypeCharset } : {}),
    defaultCharset: sub.institution.charset,
  };
}

/** A frame without any MSH (kept as failed, as over HTTP): AE, as there is nothing to address. */
function noMessageAck(): string {
  const text = 'No HL7 v2 message (no MSH segment) in the frame';
  return buildAck(undefined, {
    code: 'AE',
    controlId: uuidv7().replace(/-/g, '').slice(-20),
    text,
    problems: [{ severity: 'error', text, hl7: { segment: 'MSH', sequence: 1, code: '100' } }],
  });
}
