import type { ElementOrigin, Hl7ErrorCode, MappingProblem } from '../mapping/types.ts';

/** `Bundle.entry[2].resource.code.coding[0].code` → entry 2, `code.coding[0].code`. */
const IN_ENTRY = /^Bundle\.entry\[(\d+)\]\.resource\.(.+)$/;

/**
 * Problems the validator found in the mapped FHIR, named where the sender can fix them: the input
 * place of the element they concern (HL7: ERR-2 and a table 0357 code; CSV: the line and column;
 * JSON: the pointer), keeping the FHIR element as `fhirPath`. `origins` is asked for only when a
 * problem needs it — it costs a second, traced run of the mapping. A problem about an element no
 * input field gave (a fixed value, a reference, a FHIRPath result) keeps its FHIR expression.
 */
export function placeInInput(problems: MappingProblem[], origins: () => ElementOrigin[]): MappingProblem[] {
  if (!problems.some((p) => IN_ENTRY.test(p.expression ?? ''))) return problems;
  const known = origins();
  return problems.map((p) => place(p, known));
}

function place(p: MappingProblem, origins: ElementOrigin[]): MappingProblem {
  const m = IN_ENTRY.exec(p.expression ?? '');
  if (!m) return p;
  const entry = Number(m[1]);
  const path = m[2]!;
  let best: ElementOrigin | undefined;
  for (const o of origins) {
    if (o.entry !== entry || !within(path, o.element)) continue;
    // A value that was set beats a field left empty; the nearer element beats its parent; among
    // equals the later wins, as it does in the resource (`period.start` from EVN-2, then PV1-44).
    if (!best || rank(o) >= rank(best)) best = o;
  }
  if (!best) return p;
  return {
    ...p,
    expression: best.source,
    fhirPath: p.expression!,
    ...(best.hl7 ? { hl7: { ...best.hl7, code: hl7CodeOf(p) } } : {}),
  };
}

function within(path: string, element: string): boolean {
  return (
    path === element ||
    (path.startsWith(element) && (path[element.length] === '.' || path[element.length] === '['))
  );
}

function rank(o: ElementOrigin): number {
  return (o.set ? 1_000_000 : 0) + o.element.length;
}

/** Table 0357: a missing required element 101, a code outside its value set 103, else a data type error 102. */
function hl7CodeOf(p: MappingProblem): Hl7ErrorCode {
  if (p.code === 'required') return '101';
  if (p.code === 'code-invalid') return '103';
  return '102';
}
