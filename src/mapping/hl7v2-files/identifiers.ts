import type { Hl7Repetition, Hl7Segment } from '../../parse/hl7v2/index.ts';

export interface CxChoice {
  mrn?: { value: string; repetition: number };
  national?: { value: string; repetition: number };
  /** Repetitions that are neither (not mapped). */
  others: { rep: Hl7Repetition; repetition: number }[];
}

/**
 * CONTRACTS.md: the national ID is the CX whose CX-5 is `NNCHN` or CX-4.1 `CHNID`; the MRN the
 * CX with CX-5 `MR`, else the first `PI`, else the first other repetition.
 */
export function chooseIdentifiers(seg: Hl7Segment, field: number): CxChoice {
  const reps = seg.repetitions(field).map((rep, i) => ({ rep, repetition: i + 1 }));
  const withId = reps.filter((r) => r.rep.get(1) !== '');
  const isNational = (r: Hl7Repetition) => r.get(5) === 'NNCHN' || r.get(4, 1) === 'CHNID';
  const nat = withId.find((r) => isNational(r.rep));
  const local = withId.filter((r) => !isNational(r.rep));
  const mrn =
    local.find((r) => r.rep.get(5) === 'MR') ?? local.find((r) => r.rep.get(5) === 'PI') ?? local[0];
  return {
    ...(mrn ? { mrn: { value: mrn.rep.get(1), repetition: mrn.repetition } } : {}),
    ...(nat ? { national: { value: nat.rep.get(1), repetition: nat.repetition } } : {}),
    others: local.filter((r) => r !== mrn),
  };
}
