import type { OperationOutcomeIssue } from 'fhir/r4';

/**
 * The state of one validation walk: where it is (as a stack of property names and array
 * indexes, turned into an `expression` only when an issue is reported — most resources have
 * none, so no path text is built for them) and the issues found so far.
 *
 * The string rules (no empty strings, no lone surrogates, no NUL) and the structure rules are
 * kept in two lists, string issues first, because that is the order they were always reported
 * in: a value that breaks both is reported once, for its string problem.
 */
export class Walk {
  /** Issues of the string rules, in document order. */
  readonly strings: OperationOutcomeIssue[] = [];
  /** Issues of the structure rules, in the order the walk meets them. */
  readonly structure: OperationOutcomeIssue[] = [];
  /**
   * Above 0 while below a property name that is not valid Unicode: the name is reported once
   * and what lies below it is not looked at for string problems.
   */
  quietStrings = 0;
  private readonly segments: (string | number)[] = [];
  private depth = 0;

  constructor(private readonly prefix: string) {}

  /** Steps into a property (by name) or an array item (by index). */
  enter(segment: string | number): void {
    this.segments[this.depth++] = segment;
  }

  leave(): void {
    this.depth--;
  }

  /** The current place as a FHIRPath-like expression: `Patient.name[0].given[1]`. */
  path(): string {
    let path = this.prefix;
    for (let i = 0; i < this.depth; i++) {
      const s = this.segments[i]!;
      path += typeof s === 'number' ? `[${s}]` : `.${s}`;
    }
    return path;
  }

  /** A structure issue here, or at the child property `child` when given. */
  structureIssue(code: OperationOutcomeIssue['code'], diagnostics: string, child?: string): void {
    this.structure.push(
      issue(code, diagnostics, child === undefined ? this.path() : `${this.path()}.${child}`),
    );
  }

  /** A string issue here (dropped while strings are quiet). */
  stringIssue(code: OperationOutcomeIssue['code'], diagnostics: string): void {
    if (this.quietStrings === 0) this.strings.push(issue(code, diagnostics, this.path()));
  }
}

function issue(
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
  expression: string,
): OperationOutcomeIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}
