import express, { type Router } from 'express';
import type { Bundle, MessageHeader } from 'fhir/r4';
import type { InstitutionRegistry } from '../../institutions/types.ts';
import { uuidv7 } from '../../kernel/ids.ts';
import { parseFhirJson } from '../../kernel/fhir-json.ts';
import { OperationOutcomeError } from '../../kernel/outcomes.ts';
import type { Submission, Verdict } from '../../pipeline/types.ts';
import { refusals, type KeepRefused } from './refusals.ts';
import { submittingInstitution } from './submitter.ts';

/**
 * `POST /fhir/$process-message` (FHIR R4 messaging): a message Bundle, MessageHeader first.
 * Its content goes through the same stages as `/ingest/fhir`; the answer is a response message
 * whose MessageHeader.response names the request's MessageHeader and says ok or fatal-error.
 */
export function processMessageRoute(opts: {
  registry: InstitutionRegistry;
  maxBodyBytes: number;
  publicUrl: string;
  accept: (sub: Submission, body: unknown) => Promise<Verdict>;
  /** Keeps a body refused before its stages (empty, too large, not a message) as a failed message. */
  refused: KeepRefused;
}): Router {
  const r = express.Router();
  const { readBody, refuse, nonEmpty } = refusals({
    registry: opts.registry,
    maxBodyBytes: opts.maxBodyBytes,
    keep: opts.refused,
  });
  r.post('/fhir/\\$process-message', readBody('fhir'), async (req, res) => {
    const institution = await submittingInstitution(res, opts.registry);
    const sub = { institution, transport: 'http' as const };
    const raw = await nonEmpty(req, sub, 'fhir');
    // Not JSON, or JSON that is not a message: no response message can name a request header,
    // so the answer is a 400 OperationOutcome — and the body is kept with it, like any bad input.
    let bundle: Bundle;
    try {
      bundle = parseFhirJson(raw.toString('utf8')) as Bundle;
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) throw err;
      const first = err.outcome.issue[0]!;
      throw await refuse({ ...sub, raw }, 'fhir', err.status, {
        code: first.code,
        diagnostics: first.diagnostics ?? 'The body is not valid JSON',
        ...(first.details?.coding?.[0]?.code ? { hieCode: first.details.coding[0].code } : {}),
      });
    }
    if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'message') {
      throw await refuse({ ...sub, raw }, 'fhir', 400, {
        code: 'invalid',
        diagnostics: '$process-message takes a Bundle of type message',
        expression: 'Bundle.type',
        hieCode: 'HIE-INGEST-020',
      });
    }
    const header = bundle.entry?.[0]?.resource as MessageHeader | undefined;
    if (header?.resourceType !== 'MessageHeader') {
      throw await refuse({ ...sub, raw }, 'fhir', 400, {
        code: 'invalid',
        diagnostics: 'The first entry of a message Bundle must be its MessageHeader',
        expression: 'Bundle.entry[0].resource',
        hieCode: 'HIE-INGEST-021',
      });
    }
    const verdict = await opts.accept({ ...sub, raw }, bundle);
    if (verdict.message) res.setHeader('Location', `/ingest/messages/${verdict.message.id}`);
    res
      .status(verdict.accepted ? 200 : 422)
      .type('application/fhir+json')
      .send(JSON.stringify(responseMessage(opts.publicUrl, header, verdict)));
  });
  return r;
}

function responseMessage(publicUrl: string, request: MessageHeader, verdict: Verdict): Bundle {
  const outcomeId = uuidv7();
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: uuidv7(),
    ...(request.eventCoding
      ? { eventCoding: request.eventCoding }
      : { eventUri: request.eventUri ?? 'urn:county-hie:message' }),
    source: { endpoint: `${publicUrl}/fhir` },
    response: {
      identifier: request.id ?? 'unknown',
      code: verdict.accepted ? 'ok' : 'fatal-error',
      details: { reference: `urn:uuid:${outcomeId}` },
    },
  };
  return {
    resourceType: 'Bundle',
    id: uuidv7(),
    type: 'message',
    timestamp: new Date().toISOString(),
    entry: [
      { fullUrl: `urn:uuid:${header.id}`, resource: header },
      { fullUrl: `urn:uuid:${outcomeId}`, resource: { ...verdict.outcome, id: outcomeId } },
    ],
  };
}
