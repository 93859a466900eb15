import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { outcome } from '../kernel/outcomes.ts';
import { hl7IssuePlace } from '../mapping/hl7-place.ts';
import type { MappingProblem } from '../mapping/types.ts';

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
  if (p.hl7) Object.assign(issue, hl7IssuePlace(p.hl7));
  return issue;
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
