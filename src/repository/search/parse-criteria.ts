import { getSearchParameterDetails } from '@medplum/core';
import type { SearchParameter } from 'fhir/r4';
import { isFhirId } from '../../kernel/ids.ts';
import { badRequest } from '../../kernel/outcomes.ts';
import type { FhirModel } from '../fhir-model.ts';
import {
  normalizeSearchString,
  parseBoolean,
  parseDateValue,
  parseNumberValue,
  parseTokenValue,
  splitEscaped,
  splitOr,
  unescapeValue,
} from './param-values.ts';
import type { Criterion, IndexTable, ReferenceValue } from './types.ts';

/** Chains and `_has` nest at most this deep: each level is one more correlated subquery. */
export const MAX_DEPTH = 2;

export interface CriteriaContext {
  model: FhirModel;
  baseUrl: string;
}

const TABLE_OF: Record<string, IndexTable> = {
  token: 'sp_token',
  string: 'sp_string',
  date: 'sp_date',
  reference: 'sp_reference',
  number: 'sp_number',
  quantity: 'sp_quantity',
  uri: 'sp_uri',
};

const commonParams = new WeakMap<FhirModel, Map<string, SearchParameter>>();

/**
 * The search parameter `code` on every one of `types` (all types when empty), or undefined.
 * A system-level search may only use parameters that mean the same on each type searched.
 */
export function lookupParam(model: FhirModel, types: string[], code: string): SearchParameter | undefined {
  if (types.length === 0) return allTypesParams(model).get(code);
  const first = model.searchParameters(types[0]!).get(code);
  if (!first) return undefined;
  for (const t of types.slice(1)) {
    if (model.searchParameters(t).get(code)?.type !== first.type) return undefined;
  }
  return first;
}

function allTypesParams(model: FhirModel): Map<string, SearchParameter> {
  let found = commonParams.get(model);
  if (found) return found;
  const types = [...model.resourceTypes];
  found = new Map();
  for (const [code, sp] of model.searchParameters(types[0]!)) {
    if (types.every((t) => model.searchParameters(t).get(code)?.type === sp.type)) found.set(code, sp);
  }
  commonParams.set(model, found);
  return found;
}

/**
 * One query parameter as a criterion on `types`. Returns undefined when the parameter name is
 * unknown (the caller decides between a warning and a 400); throws 400 for everything that is
 * known but not supported or not valid.
 */
export function parseCriterion(
  ctx: CriteriaContext,
  types: string[],
  name: string,
  value: string,
  depth = 0,
): Criterion | undefined {
  if (depth > MAX_DEPTH)
    throw badRequest(`Parameter ${name}: chains and _has nest at most ${MAX_DEPTH} levels`, name);
  if (name.startsWith('_has:')) return parseHas(ctx, types, name, value, depth);
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const colon = head.indexOf(':');
  const code = colon < 0 ? head : head.slice(0, colon);
  const modifier = colon < 0 ? undefined : head.slice(colon + 1);
  if (code === '_id' || code === '_lastUpdated') {
    if (modifier !== undefined || dot >= 0)
      throw badRequest(`Parameter ${name}: modifiers and chains are not supported on ${code}`, name);
    if (code === '_id') return { kind: 'id', ids: splitOr(value).map(unescapeValue) };
    return { kind: 'lastUpdated', values: splitOr(value).map((v) => parseDateValue(v, name)) };
  }
  const sp = lookupParam(ctx.model, types, code);
  if (!sp) return undefined;
  if (dot >= 0) return parseChain(ctx, sp, name, modifier, name.slice(dot + 1), value, depth);
  if (modifier === 'missing')
    return { kind: 'missing', table: TABLE_OF[sp.type]!, code, missing: parseBoolean(value, name) };
  return parseByKind(ctx, types, sp, name, modifier, splitOr(value));
}

function parseByKind(
  ctx: CriteriaContext,
  types: string[],
  sp: SearchParameter,
  name: string,
  modifier: string | undefined,
  values: string[],
): Criterion {
  const code = sp.code;
  switch (sp.type) {
    case 'token':
      return parseToken(types, sp, name, modifier, values);
    case 'string':
      return parseString(code, name, modifier, values);
    case 'date':
      noModifier(name, modifier);
      return { kind: 'date', code, values: values.map((v) => parseDateValue(v, name)) };
    case 'number':
      noModifier(name, modifier);
      return { kind: 'number', code, values: values.map((v) => parseNumberValue(v, name)) };
    case 'quantity':
      noModifier(name, modifier);
      return { kind: 'quantity', code, values: values.map((v) => parseQuantity(v, name)) };
    case 'uri':
      if (modifier !== undefined && modifier !== 'below' && modifier !== 'above')
        unsupportedModifier(name, modifier);
      return { kind: 'uri', code, match: modifier ?? 'exact', values: values.map(unescapeValue) };
    case 'reference':
      return parseReference(ctx, sp, name, modifier, values);
    default:
      throw badRequest(`Parameter ${name}: search parameters of type ${sp.type} are not supported`, name);
  }
}

function noModifier(name: string, modifier: string | undefined): void {
  if (modifier !== undefined) unsupportedModifier(name, modifier);
}

function unsupportedModifier(name: string, modifier: string): never {
  throw badRequest(`Parameter ${name}: modifier :${modifier} is not supported here`, name);
}

function parseToken(
  types: string[],
  sp: SearchParameter,
  name: string,
  modifier: string | undefined,
  values: string[],
): Criterion {
  if (modifier === 'text') return { kind: 'token-text', code: sp.code, values: values.map(unescapeValue) };
  if (modifier !== undefined && modifier !== 'not') unsupportedModifier(name, modifier);
  const isBoolean =
    types.length > 0 && getSearchParameterDetails(types[0]!, sp as never).type === ('BOOLEAN' as unknown);
  if (isBoolean) {
    for (const v of values) parseBoolean(v, name);
  }
  return {
    kind: 'token',
    code: sp.code,
    not: modifier === 'not',
    values: values.map((v) => parseTokenValue(v, name)),
  };
}

function parseString(code: string, name: string, modifier: string | undefined, values: string[]): Criterion {
  if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains')
    unsupportedModifier(name, modifier);
  const raw = values.map(unescapeValue);
  if (modifier === 'exact') return { kind: 'string', code, match: 'exact', values: raw };
  const norms = raw.map(normalizeSearchString);
  if (norms.some((v) => v === '')) throw badRequest(`Parameter ${name}: empty string value`, name);
  return { kind: 'string', code, match: modifier === 'contains' ? 'contains' : 'starts', values: norms };
}

function parseQuantity(raw: string, name: string) {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  if (parts.length !== 1 && parts.length !== 3) {
    throw badRequest(
      `Parameter ${name}: '${raw}' is not a quantity (value, value|system|code or value||code)`,
      name,
    );
  }
  const number = parseNumberValue(parts[0]!, name);
  const system = parts[1] ? parts[1] : undefined;
  const unit = parts[2] ? parts[2] : undefined;
  return { number, ...(system ? { system } : {}), ...(unit ? { unit } : {}) };
}

function parseReference(
  ctx: CriteriaContext,
  sp: SearchParameter,
  name: string,
  modifier: string | undefined,
  values: string[],
): Criterion {
  if (modifier === 'identifier') {
    const tokens = values.map((v) => parseTokenValue(v, name));
    return { kind: 'token', code: `${sp.code}:identifier`, not: false, values: tokens };
  }
  if (modifier !== undefined) checkTargetType(ctx, sp, name, modifier);
  return {
    kind: 'reference',
    code: sp.code,
    values: values.map((v) => referenceValue(ctx, sp, name, unescapeValue(v), modifier)),
  };
}

function checkTargetType(ctx: CriteriaContext, sp: SearchParameter, name: string, type: string): void {
  if (!ctx.model.isResourceType(type)) unsupportedModifier(name, type);
  if (sp.target && !sp.target.includes(type as never)) {
    throw badRequest(
      `Parameter ${name}: ${type} is not a target of ${sp.code} (${sp.target.join(', ')})`,
      name,
    );
  }
}

const LOCAL_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function referenceValue(
  ctx: CriteriaContext,
  sp: SearchParameter,
  name: string,
  raw: string,
  typeModifier?: string,
): ReferenceValue {
  const base = `${ctx.baseUrl}/`;
  const value = ctx.baseUrl && raw.startsWith(base) ? raw.slice(base.length) : raw;
  const local = LOCAL_REF.exec(value);
  if (local && ctx.model.isResourceType(local[1]!)) {
    const type = local[1]!;
    if (typeModifier && type !== typeModifier) {
      throw badRequest(`Parameter ${name}: value ${value} contradicts the modifier :${typeModifier}`, name);
    }
    checkTargetType(ctx, sp, name, type);
    return { targetTypes: [type], id: local[2]! };
  }
  if (isFhirId(value)) {
    const targets = typeModifier ? [typeModifier] : sp.target ? [...sp.target] : undefined;
    return { targetTypes: targets, id: value };
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return { url: value };
  throw badRequest(`Parameter ${name}: '${raw}' is not a reference (Type/id, id or an absolute URL)`, name);
}

function parseChain(
  ctx: CriteriaContext,
  sp: SearchParameter,
  name: string,
  modifier: string | undefined,
  rest: string,
  value: string,
  depth: number,
): Criterion {
  if (sp.type !== 'reference')
    throw badRequest(`Parameter ${name}: only reference parameters can be chained`, name);
  let targetType = modifier;
  if (targetType !== undefined) checkTargetType(ctx, sp, name, targetType);
  else if (sp.target?.length === 1) targetType = sp.target[0];
  else {
    throw badRequest(
      `Parameter ${name}: ambiguous chain, ${sp.code} may point to ${sp.target?.join(', ') ?? 'any type'}; name one as ${sp.code}:Type.${rest}`,
      name,
    );
  }
  const inner = parseCriterion(ctx, [targetType!], rest, value, depth + 1);
  if (!inner) throw badRequest(`Parameter ${name}: ${targetType} has no search parameter ${rest}`, name);
  return { kind: 'chain', code: sp.code, targetType: targetType!, inner };
}

/** `_has:Type:refParam:param=value`: resources that a `Type` matching `param` points to. */
function parseHas(
  ctx: CriteriaContext,
  types: string[],
  name: string,
  value: string,
  depth: number,
): Criterion {
  const parts = name.split(':');
  const [, sourceType, refCode] = parts;
  const rest = parts.slice(3).join(':');
  if (!sourceType || !refCode || !rest || !ctx.model.isResourceType(sourceType)) {
    throw badRequest(`Parameter ${name}: expected _has:Type:referenceParameter:parameter`, name);
  }
  const ref = ctx.model.searchParameters(sourceType).get(refCode);
  if (!ref || ref.type !== 'reference')
    throw badRequest(`Parameter ${name}: ${sourceType} has no reference parameter ${refCode}`, name);
  if (ref.target && types.length > 0 && !types.some((t) => ref.target!.includes(t as never))) {
    throw badRequest(`Parameter ${name}: ${sourceType}.${refCode} never points to ${types.join(', ')}`, name);
  }
  const inner = parseCriterion(ctx, [sourceType], rest, value, depth + 1);
  if (!inner) throw badRequest(`Parameter ${name}: ${sourceType} has no search parameter ${rest}`, name);
  return { kind: 'has', sourceType, refCode, inner };
}
