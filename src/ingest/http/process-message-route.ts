import express, { type Router } from 'express';
import type { Bundle, MessageHeader } from 'fhir/r4';
import type { InstitutionRegistry } from '../../institutions/types.ts';
import { uuidv7 } from '../../kernel/ids.ts';
import { parseFhirJson } from '../../kernel/fhir-json.ts';
import { badRequest } from '../../kernel/outcomes.ts';
import type { Submission, Verdict } from '../../pipeline/types.ts';
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
}): Router {
  const r = express.Router();
  r.post(
    '/fhir/\\$process-message',
    express.raw({ type: () => true, limit: opts.maxBodyBytes }),
    async (req, res) => {
      const institution = await submittingInstitution(res, opts.registry);
      const raw = Buffer.isBuffer(req.body) ? (req.body as Buffer) : Buffer.alloc(0);
      if (raw.length === 0) throw badRequest('The body is empty');
      const bundle = parseFhirJson(raw.toString('utf8')) as Bundle;
      if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'message') {
        throw badRequest('$process-message takes a Bundle of type message', 'Bundle.type', 'HIE-INGEST-020');
      }
      const header = bundle.entry?.[0]?.resource as MessageHeader | undefined;
      if (header?.resourceType !== 'MessageHeader') {
        throw badRequest(
          'The first entry of a message Bundle must be its MessageHeader',
          'Bundle.entry[0].resource',
          'HIE-INGEST-021',
        );
      }
      const verdict = await opts.accept({ institution, transport: 'http', raw }, bundle);
      if (verdict.message) res.setHeader('Location', `/ingest/messages/${verdict.message.id}`);
      res
        .status(verdict.accepted ? 200 : 422)
        .type('application/fhir+json')
        .send(JSON.stringify(responseMessage(opts.publicUrl, header, verdict)));
    },
  );
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
