import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { Institution } from '../institutions/types.ts';
import { mapHl7Message } from '../mapping/hl7v2-files/map-message.ts';
import {
  MappingError,
  type ElementOrigin,
  type MappedMessage,
  type MappingProblem,
} from '../mapping/types.ts';
import { parseHl7, readHl7Header, type ParsedHl7 } from '../parse/hl7v2/index.ts';
import type { FhirModel } from '../repository/fhir-model.ts';
import type { SensitivityRules } from '../mapping/sensitivity/index.ts';
import { shippedMappings, type MappingSet } from '../mapping/engine/index.ts';
import { problemIssue, problemsToOutcome } from './outcomes.ts';
import { parseHl7Time } from '../mapping/hl7v2-files/time.ts';
import { acceptedWarnings, checkMapped } from './validate-stage.ts';
import { placeInInput } from './place-problems.ts';

/** One HL7 v2 message judged: parsed (when it could be), mapped (when it could be), and why not. */
export interface Hl7Evaluation {
  parsed?: ParsedHl7;
  mapped?: MappedMessage;
  /** Accepted with these warnings (kept on the archive row, sent as ERR severity W). */
  warnings?: OperationOutcomeIssue[];
  /** undefined = accepted. `reject` → AR (unsupported type/version); `error` → AE (content). */
  failure?: { kind: 'error' | 'reject'; problems: MappingProblem[]; outcome: OperationOutcome };
}

/**
 * Parse → facility check → map → validate for one message's text, without side effects: shared by
 * HTTP, MLLP and replay. The map step is the mapping file of `mappings/hl7v2/` selected for the
 * institution, sending application and event (AR when none handles it); without a live set, the
 * shipped files.
 */
export function evaluateHl7(
  text: string,
  institution: Institution,
  archiveId: string,
  env: { model: FhirModel; canonicalBase: string; sensitivity?: SensitivityRules; mappings?: MappingSet },
): Hl7Evaluation {
  let parsed: ParsedHl7 | undefined;
  try {
    parsed = parseHl7(text);
    const facility = parsed.sendingFacility;
    if (!institution.facilityCodes.includes(facility)) {
      return fail(parsed, 'reject', [
        {
          severity: 'error',
          text: `MSH-4 "${facility}" is not a facility of ${institution.id} (${institution.facilityCodes.join(', ')})`,
          hl7: { segment: 'MSH', sequence: 1, field: 4, code: '204' },
        },
      ]);
    }
    const ctx = { institution, canonicalBase: env.canonicalBase, archiveId };
    const mappings = env.mappings ?? shippedMappings();
    const mapped = mapHl7Message(mappings, parsed, ctx);
    const traced = parsed;
    const checked = placeInInput(checkMapped(env, mapped.bundle), () => {
      const trace: ElementOrigin[] = [];
      mapHl7Message(mappings, traced, { ...ctx, trace });
      return trace;
    });
    const problems = checked.filter((p) => p.severity === 'error');
    if (problems.length > 0) return { ...fail(parsed, 'error', problems), mapped };
    const warnings = acceptedWarnings(mapped, checked);
    const sent = messageTimeProblem(parsed);
    if (sent) warnings.push(problemIssue(sent));
    return { parsed, mapped, ...(warnings.length ? { warnings } : {}) };
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    // Refused while parsing (an unsupported version, say): the header alone still gives the ACK
    // its addressees and MSA-2, and the archive row its control id and type.
    const header = parsed ?? (text.startsWith('MSH') ? readHl7Header(text)?.parsed : undefined);
    return fail(header, err.kind, err.problems);
  }
}

/**
 * MSH-7 is required by HL7, but the mappings order events by EVN, OBR or RXA times first and fall
 * back to MSH-7 only when those are empty — so a malformed or empty MSH-7 beside a good EVN
 * would pass unseen, until the day a message without EVN fails on it. The sender hears of it now,
 * as a warning on the accepted message (when MSH-7 is the time used, the mapping refuses it).
 */
function messageTimeProblem(parsed: ParsedHl7): MappingProblem | undefined {
  const at = { segment: 'MSH', sequence: 1, field: 7 };
  const value = parsed.messageTime;
  if (value.trim() === '')
    return {
      severity: 'warning',
      text: 'MSH-7 (date/time of message) is empty; HL7 requires it',
      expression: 'MSH-7',
      hl7: { ...at, code: '101' },
    };
  try {
    // Only the form is checked here; the offset given for a time without one does not matter.
    parseHl7Time(value, '+00:00', at);
    return undefined;
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    return {
      severity: 'warning',
      text: `MSH-7 (date/time of message) "${value}" is not a valid HL7 date/time (YYYYMMDDHHMMSS[+ZZZZ])`,
      expression: 'MSH-7',
      hl7: { ...at, code: '102' },
    };
  }
}

function fail(
  parsed: ParsedHl7 | undefined,
  kind: 'error' | 'reject',
  problems: MappingProblem[],
): Hl7Evaluation {
  return { ...(parsed ? { parsed } : {}), failure: { kind, problems, outcome: problemsToOutcome(problems) } };
}

/** True when a failure is "this is not your facility" — the HTTP edge answers 403 for it. */
export function isForeignFacility(e: Hl7Evaluation): boolean {
  return (
    e.failure?.problems.some((p) => p.hl7?.segment === 'MSH' && p.hl7.field === 4 && p.hl7.code === '204') ??
    false
  );
}
