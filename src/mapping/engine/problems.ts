import { LineCounter, parseDocument, type Document } from 'yaml';

/** One reason a mapping or ConceptMap file is refused: where (file, line) and why. */
export interface LoadProblem {
  file: string;
  line?: number;
  column?: number;
  reason: string;
}

/** A broken file refuses the whole load: nothing half-compiled ever serves messages. */
export class MappingLoadError extends Error {
  constructor(readonly problems: LoadProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'MappingLoadError';
  }
}

export function formatProblem(p: LoadProblem): string {
  const at = p.line === undefined ? p.file : `${p.file}:${p.line}${p.column ? `:${p.column}` : ''}`;
  return `${at}: ${p.reason}`;
}

/**
 * A parsed YAML/JSON file that can say where a value sits. JSON is a subset of YAML 1.2, so one
 * parser gives positions for both (JSON.parse gives none).
 */
export class SourceFile {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  /** The first YAML syntax error with its line (later ones are mostly consequences of it). */
  syntaxProblems(): LoadProblem[] {
    return this.doc.errors.slice(0, 1).map((e) => {
      const pos = this.lines.linePos(e.pos[0]);
      return {
        file: this.file,
        line: pos.line,
        column: pos.col,
        reason: `syntax: ${e.message.split('\n')[0]}`,
      };
    });
  }

  data(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /** The line of the value at a path (the nearest existing ancestor when the path is absent). */
  lineOf(path: (string | number)[]): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return undefined;
  }

  problem(path: (string | number)[], reason: string): LoadProblem {
    const line = this.lineOf(path);
    return { file: this.file, ...(line !== undefined ? { line } : {}), reason };
  }
}

/** `/resources/0/when` (ajv instancePath) → ['resources', 0, 'when']. */
export function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((t) => (/^\d+$/.test(t) ? Number(t) : t));
}
