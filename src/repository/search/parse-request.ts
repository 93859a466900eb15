import type { OperationOutcomeIssue } from 'fhir/r4';
import { badRequest, fail, issue, notFound } from '../../kernel/outcomes.ts';
import { lookupParam, parseCriterion, type CriteriaContext } from './parse-criteria.ts';
import { splitOr } from './param-values.ts';
import type { IncludeSpec, ParsedSearch, SortKey, SortKind, SummaryMode } from './types.ts';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

/** Known FHIR parameters this server does not implement: ignoring them would widen the result. */
const UNSUPPORTED = new Set([
  '_filter',
  '_text',
  '_content',
  '_list',
  '_query',
  '_contained',
  '_containedType',
  '_score',
]);
/** Transport-level parameters the HTTP layer already honoured; kept in links, not searched. */
const PASSTHROUGH = new Set(['_format', '_pretty']);
const SORTABLE: Record<string, SortKind> = {
  date: 'date',
  string: 'string',
  token: 'token',
  number: 'number',
  quantity: 'quantity',
};
const SUMMARY_MODES = new Set(['true', 'text', 'data', 'count', 'false']);
const TOTAL_MODES = new Set(['none', 'estimate', 'accurate']);

interface RequestInput {
  resourceType: string | undefined;
  params: [string, string][];
  strict: boolean;
}

/** Checks and structures a search request; the SQL stage then needs no knowledge of HTTP. */
export function parseSearchRequest(ctx: CriteriaContext, req: RequestInput): ParsedSearch {
  const types = searchedTypes(ctx, req);
  const out: ParsedSearch = {
    types,
    criteria: [],
    sort: [],
    count: DEFAULT_COUNT,
    total: undefined,
    includes: [],
    used: [],
    issues: [],
  };
  const unknown = (name: string, what = 'search parameter') => {
    const diagnostics = `Unknown ${what} '${name}' for ${types.length ? types.join(', ') : 'all resource types'}`;
    if (req.strict) throw fail(400, { code: 'not-supported', diagnostics, expression: name });
    out.issues.push(ignored(`${diagnostics}; it was ignored`, name));
  };
  for (const [name, value] of req.params) {
    if (controlParam(ctx, out, name, value)) continue;
    if (UNSUPPORTED.has(name.split(':')[0]!))
      throw fail(400, {
        code: 'not-supported',
        diagnostics: `Parameter ${name} is not supported`,
        expression: name,
      });
    if (value === '') {
      if (req.strict) throw badRequest(`Parameter ${name} has an empty value`, name);
      out.issues.push(ignored(`Parameter ${name} has an empty value; it was ignored`, name));
      continue;
    }
    const criterion = parseCriterion(ctx, types, name, value);
    if (!criterion) {
      unknown(name);
      continue;
    }
    out.criteria.push(criterion);
    out.used.push([name, value]);
  }
  if (out.summary !== undefined && out.elements !== undefined) {
    throw badRequest('_summary and _elements cannot be combined', '_elements');
  }
  return out;
}

function ignored(diagnostics: string, name: string): OperationOutcomeIssue {
  return issue({ severity: 'warning', code: 'not-supported', diagnostics, expression: name });
}

function searchedTypes(ctx: CriteriaContext, req: RequestInput): string[] {
  if (req.resourceType !== undefined) {
    if (!ctx.model.isResourceType(req.resourceType))
      throw notFound(`Unknown resource type ${req.resourceType}`);
    return [req.resourceType];
  }
  const types = new Set<string>();
  for (const [name, value] of req.params) {
    if (name !== '_type') continue;
    for (const t of splitOr(value)) {
      if (!ctx.model.isResourceType(t)) throw badRequest(`_type: ${t} is not a resource type`, '_type');
      types.add(t);
    }
  }
  return [...types];
}

/** Handles a result parameter (`_count`, `_sort` …); false when `name` is not one. */
function controlParam(ctx: CriteriaContext, out: ParsedSearch, name: string, value: string): boolean {
  const [base, modifier] = name.split(':', 2);
  switch (base) {
    case '_count':
      out.count = parseCount(out, value);
      break;
    case '_sort':
      out.sort = parseSort(ctx, out.types, value);
      break;
    case '_total':
      if (!TOTAL_MODES.has(value)) throw badRequest(`_total must be none, estimate or accurate`, '_total');
      out.total = value as ParsedSearch['total'];
      break;
    case '_summary':
      if (!SUMMARY_MODES.has(value))
        throw badRequest(`_summary must be one of true, text, data, count, false`, '_summary');
      out.summary = value as SummaryMode;
      break;
    case '_elements':
      out.elements = parseElements(value);
      break;
    case '_include':
    case '_revinclude':
      if (modifier !== undefined)
        throw fail(400, { code: 'not-supported', diagnostics: `${name} is not supported`, expression: name });
      out.includes.push(parseInclude(ctx, out.types, base, value));
      break;
    case '_type':
      // System level: already read by searchedTypes. Type level: may only repeat that type.
      if (!splitOr(value).every((t) => out.types.includes(t))) {
        throw badRequest(`_type ${value} contradicts the type searched (${out.types.join(', ')})`, '_type');
      }
      break;
    case '_cursor':
      out.cursor = value;
      return true; // the next link carries its own cursor
    default:
      if (!PASSTHROUGH.has(base!)) return false;
  }
  if (modifier !== undefined && base !== '_include' && base !== '_revinclude') {
    throw badRequest(`Parameter ${name}: modifiers are not allowed on ${base}`, name);
  }
  out.used.push([name, value]);
  return true;
}

function parseCount(out: ParsedSearch, value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw badRequest(`_count must be a whole number, got '${value}'`, '_count');
  const n = Number(value);
  if (n <= MAX_COUNT) return n;
  out.issues.push(
    issue({
      severity: 'warning',
      code: 'too-costly',
      diagnostics: `_count was lowered to ${MAX_COUNT}`,
      expression: '_count',
    }),
  );
  return MAX_COUNT;
}

function parseSort(ctx: CriteriaContext, types: string[], value: string): SortKey[] {
  const keys: SortKey[] = [];
  for (const item of value.split(',')) {
    const descending = item.startsWith('-');
    const code = descending ? item.slice(1) : item;
    if (code === '_id' || code === '_lastUpdated') {
      keys.push({ kind: code === '_id' ? 'id' : 'lastUpdated', code: '', descending });
      continue;
    }
    const sp = lookupParam(ctx.model, types, code);
    // An order the server cannot give must not be silently replaced by another: pages would
    // look right and be wrong.
    if (!sp)
      throw badRequest(
        `_sort: ${code || '(empty)'} is not a search parameter of ${types.join(', ') || 'any type'}`,
        '_sort',
      );
    const kind = SORTABLE[sp.type];
    if (!kind) throw badRequest(`_sort: parameter ${code} (${sp.type}) cannot be sorted on`, '_sort');
    keys.push({ kind, code, descending });
  }
  return keys;
}

function parseElements(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  for (const n of names) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(n))
      throw badRequest(`_elements: '${n}' is not an element name`, '_elements');
  }
  return names;
}

function parseInclude(
  ctx: CriteriaContext,
  types: string[],
  kind: '_include' | '_revinclude',
  value: string,
): IncludeSpec {
  if (value === '*')
    throw fail(400, {
      code: 'not-supported',
      diagnostics: `${kind}=* is not supported; name the parameters`,
      expression: kind,
    });
  const [sourceType, code, targetType, extra] = value.split(':');
  if (!sourceType || !code || extra !== undefined || !ctx.model.isResourceType(sourceType)) {
    throw badRequest(`${kind} must be Type:parameter[:TargetType], got '${value}'`, kind);
  }
  const sp = ctx.model.searchParameters(sourceType).get(code);
  if (!sp || sp.type !== 'reference')
    throw badRequest(`${kind}: ${sourceType} has no reference parameter ${code}`, kind);
  if (
    targetType !== undefined &&
    (!ctx.model.isResourceType(targetType) || (sp.target && !sp.target.includes(targetType as never)))
  ) {
    throw badRequest(`${kind}: ${targetType} is not a target of ${sourceType}.${code}`, kind);
  }
  if (kind === '_include' && types.length > 0 && !types.includes(sourceType)) {
    throw badRequest(`_include: ${sourceType} is not a type being searched`, kind);
  }
  return { reverse: kind === '_revinclude', sourceType, code, ...(targetType ? { targetType } : {}) };
}
