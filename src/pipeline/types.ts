import type { OperationOutcome } from 'fhir/r4';
import type { InboundMessage, MessageFormat, Transport } from '../inbox/types.ts';
import type { Institution } from '../institutions/types.ts';

/** One inbound body as the edge received it: who sent it, how, and its bytes. */
export interface Submission {
  institution: Institution;
  transport: Transport;
  raw: Buffer;
  /** The charset named by the HTTP content-type, if any. */
  contentTypeCharset?: string;
  /** CSV/JSON feed name. */
  feed?: string;
}

/** The gateway's verdict on one message, after it is archived. */
export interface Verdict {
  /** The archived row (the original one for a re-send); undefined when even archiving failed. */
  message?: InboundMessage;
  resend: boolean;
  accepted: boolean;
  outcome: OperationOutcome;
  format: MessageFormat;
}
