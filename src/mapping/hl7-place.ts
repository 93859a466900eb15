import type { OperationOutcomeIssue } from 'fhir/r4';
import type { Hl7ErrorCode, Hl7Location } from './types.ts';

/**
 * How an HL7 place travels inside an OperationOutcome issue, so that an ERR segment can be built
 * again from a kept outcome: `location` = `PID^1^5^2` (segment, occurrence, field, repetition,
 * component, sub-component), `details` = the table 0357 code.
 */
export const V2_0357 = 'http://terminology.hl7.org/CodeSystem/v2-0357';

export function hl7IssuePlace(
  h: Hl7Location & { code: Hl7ErrorCode },
): Pick<OperationOutcomeIssue, 'location' | 'details'> {
  const where = [h.segment, h.sequence, h.field, h.repetition, h.component, h.subComponent]
    .filter((x) => x !== undefined)
    .join('^');
  return { location: [where], details: { coding: [{ system: V2_0357, code: h.code }] } };
}

/** The HL7 place of an issue `hl7IssuePlace` made; undefined for an issue without one. */
export function hl7PlaceOf(issue: OperationOutcomeIssue): (Hl7Location & { code: Hl7ErrorCode }) | undefined {
  const where = issue.location?.[0]?.split('^') ?? [];
  const code = issue.details?.coding?.find((c) => c.system === V2_0357)?.code as Hl7ErrorCode | undefined;
  if (!code || !/^[A-Z][A-Z0-9]{2}$/.test(where[0] ?? '')) return undefined;
  const place: Hl7Location & { code: Hl7ErrorCode } = {
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
