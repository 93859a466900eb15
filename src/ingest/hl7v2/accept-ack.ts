import { inAckMode } from './ack.ts';
import { acceptAckWanted, type AckMode, type AckOutcome } from './ack-mode.ts';

/** One message of a body as the pipeline answered it. */
export interface AnsweredMessage {
  ack: string;
  code: AckOutcome;
  /** False when nothing was archived (storage down, a refused sender). */
  stored: boolean;
}

export interface MllpReply {
  /** The acknowledgements to write, in order; none at all → the frame gets no answer. */
  acks: string[];
  /**
   * A message was neither kept nor acknowledged (its sender said NE or SU and we refused it):
   * the connection must close, the only signal left that it should be sent again.
   */
  drop: boolean;
}

/**
 * What an MLLP frame gets back once each message has its mode (`ackModesOfBody`, same order):
 * original mode always answers; enhanced mode answers the accept acknowledgement only when
 * MSH-15 asks for one for that outcome (AL always, NE never, ER on CE/CR, SU on CA).
 */
export function mllpReply(answers: AnsweredMessage[], modes: AckMode[]): MllpReply {
  const acks: string[] = [];
  let drop = false;
  answers.forEach((a, i) => {
    const mode = modes[i] ?? { kind: 'original' };
    if (acceptAckWanted(mode, a.code)) acks.push(inAckMode(a.ack, mode, a.code));
    else if (!a.stored) drop = true;
  });
  return { acks, drop };
}

/** HTTP always answers every message (a response is due anyway), in the mode it asked for. */
export function httpAcks(answers: AnsweredMessage[], modes: AckMode[]): string[] {
  return answers.map((a, i) => inAckMode(a.ack, modes[i] ?? { kind: 'original' }, a.code));
}
