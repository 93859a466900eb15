import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SourceFile, type LoadProblem } from './problems.ts';

/** A target of one source code, as the ConceptMap states it. */
export interface Translation {
  system: string;
  code: string;
  display?: string;
}

/** A loaded ConceptMap reduced to what translation needs: source code → targets. */
export interface LoadedConceptMap {
  id: string;
  file: string;
  /** Codes whose equivalence lets them stand for the source (see USABLE). */
  translate(code: string): Translation[];
}

/**
 * Equivalences under which a target may stand for the source code (R4 ConceptMapEquivalence).
 * Not `unmatched`/`disjoint` (no match), and not `narrower`/`specializes`: a target narrower than
 * the source would claim more than the sender said.
 */
const USABLE = new Set(['relatedto', 'equivalent', 'equal', 'wider', 'subsumes', 'inexact', undefined]);

/**
 * Reads every `*.json` ConceptMap in a folder. Shape problems are returned with file and line
 * rather than thrown, so that lint reports all of them at once.
 */
export async function loadConceptMaps(
  dir: string,
): Promise<{ maps: Map<string, LoadedConceptMap>; problems: LoadProblem[] }> {
  return loadConceptMapsSync(dir);
}

/** The same, synchronously: a handful of small files read once at start or on a change. */
export function loadConceptMapsSync(dir: string): {
  maps: Map<string, LoadedConceptMap>;
  problems: LoadProblem[];
} {
  const maps = new Map<string, LoadedConceptMap>();
  const problems: LoadProblem[] = [];
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch {
    return { maps, problems };
  }
  for (const name of names) {
    const file = path.join(dir, name);
    const result = parseConceptMap(file, readFileSync(file, 'utf8'));
    problems.push(...result.problems);
    if (!result.map) continue;
    const existing = maps.get(result.map.id);
    if (existing) {
      problems.push({ file, reason: `ConceptMap id "${result.map.id}" is also used by ${existing.file}` });
      continue;
    }
    maps.set(result.map.id, result.map);
  }
  return { maps, problems };
}

export function parseConceptMap(
  file: string,
  text: string,
): { map?: LoadedConceptMap; resource?: Record<string, unknown>; problems: LoadProblem[] } {
  const src = new SourceFile(file, text);
  const syntax = src.syntaxProblems();
  if (syntax.length) return { problems: syntax };
  const cm = src.data() as Record<string, any>;
  const problems: LoadProblem[] = [];
  if (!cm || typeof cm !== 'object' || cm.resourceType !== 'ConceptMap')
    return { problems: [src.problem([], 'not a ConceptMap (resourceType must be "ConceptMap")')] };
  if (typeof cm.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(cm.id))
    problems.push(src.problem(['id'], 'the ConceptMap needs an id (the name mappings refer to it by)'));
  const table = new Map<string, Translation[]>();
  const groups: unknown[] = Array.isArray(cm.group) ? cm.group : [];
  if (groups.length === 0) problems.push(src.problem(['group'], 'the ConceptMap has no group'));
  groups.forEach((g: any, gi) => {
    if (typeof g?.target !== 'string' || g.target === '')
      problems.push(
        src.problem(['group', gi, 'target'], 'group.target (the target code system) is required'),
      );
    const elements: unknown[] = Array.isArray(g?.element) ? g.element : [];
    elements.forEach((e: any, ei) => {
      if (typeof e?.code !== 'string' || e.code === '') {
        problems.push(src.problem(['group', gi, 'element', ei], 'element.code is required'));
        return;
      }
      const targets: Translation[] = [];
      for (const t of Array.isArray(e.target) ? e.target : []) {
        if (!USABLE.has(t?.equivalence) || typeof t?.code !== 'string') continue;
        targets.push({
          system: g.target,
          code: t.code,
          ...(typeof t.display === 'string' ? { display: t.display } : {}),
        });
      }
      table.set(e.code, [...(table.get(e.code) ?? []), ...targets]);
    });
  });
  if (problems.length) return { problems };
  return {
    map: { id: cm.id, file, translate: (code) => table.get(code) ?? [] },
    resource: cm,
    problems,
  };
}
