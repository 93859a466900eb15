import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { outcome } from '../kernel/outcomes.ts';
import type { Hl7ErrorCode, MappingProblem } from '../mapping/types.ts';

const V2_0357 = 'http://terminology.hl7.org/CodeSystem/v2-0357';

/** Mapping/validation problems as OperationOutcome issues, HL7 positions kept in `location`. */
export function problemsToOutcome(problems: MappingProblem[]): OperationOutcome {
  return outcome(...problems.map(problemIssue));
}

/** One problem as an issue: the HL7 place in `location` (`PID^1^5^2`), its table 0357 code in `details`. */
export function problemIssue(p: MappingProblem): OperationOutcomeIssue {
  const issue: OperationOutcomeIssue = {
    severity: p.severity,
    code:
      p.code ??
      (p.hl7?.code === '200' || p.hl7?.code === '201' || p.hl7?.code === '203' ? 'not-supported' : 'invalid'),
    diagnostics: p.text,
  };
  // A problem placed in the input names that place first and the FHIR element it became second.
  if (p.expression) issue.expression = [p.expression, ...(p.fhirPath ? [p.fhirPath] : [])];
  if (p.hl7) {
    const h = p.hl7;
    const where = [h.segment, h.sequence, h.field, h.repetition, h.component, h.subComponent]
      .filter((x) => x !== undefined)
      .join('^');
    issue.location = [where];
    issue.details = {
      coding: [{ system: V2_0357, code: h.code }],
    };
  }
  return issue;
}

/** The HL7 place of an issue `problemIssue` made (for an ERR segment built from a kept outcome). */
export function hl7PlaceOf(issue: OperationOutcomeIssue): MappingProblem['hl7'] {
  const where = issue.location?.[0]?.split('^') ?? [];
  const code = issue.details?.coding?.find((c) => c.system === V2_0357)?.code as Hl7ErrorCode | undefined;
  if (!code || !/^[A-Z][A-Z0-9]{2}$/.test(where[0] ?? '')) return undefined;
  const place: NonNullable<MappingProblem['hl7']> = {
    segment: where[0]!,
    sequence: Number(where[1]) || 1,
    code,
  };
  const parts = ['field', 'repetition', 'component', 'subComponent'] as const;
  parts.forEach((name, i) => {
    const v = Number(where[i + 2]);
    if (v > 0) place[name] = v;
  });
  return place;
}

export function acceptedOutcome(messageId: string, resend: boolean): OperationOutcome {
  return outcome({
    severity: 'information',
    code: 'informational',
    diagnostics: resend
      ? `Already received as message ${messageId}; nothing new was written`
      : `Accepted as message ${messageId}; it is queued for the shared repository`,
  });
}
