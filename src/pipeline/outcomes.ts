import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { outcome } from '../kernel/outcomes.ts';
import type { MappingProblem } from '../mapping/types.ts';

/** Mapping/validation problems as OperationOutcome issues, HL7 positions kept in `location`. */
export function problemsToOutcome(problems: MappingProblem[]): OperationOutcome {
  return outcome(
    ...problems.map((p): OperationOutcomeIssue => {
      const issue: OperationOutcomeIssue = {
        severity: p.severity,
        code:
          p.code ??
          (p.hl7?.code === '200' || p.hl7?.code === '201' || p.hl7?.code === '203'
            ? 'not-supported'
            : 'invalid'),
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
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0357', code: h.code }],
        };
      }
      return issue;
    }),
  );
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
