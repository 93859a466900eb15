import type { Coding, ConceptMap, Parameters, ParametersParameter } from 'fhir/r4';
import { badRequest, fail, notFound, notSupported } from '../kernel/outcomes.ts';
import type { ConceptMapSource } from '../mapping/live/concept-map-resources.ts';
import type { FhirRequest } from '../repository/router/fhir-request.ts';
import type { OperationHandler } from '../repository/router/fhir-router.ts';
import { jsonResponse } from '../repository/router/respond.ts';
import { translateCodes, type TranslateQuery } from './concept-translate.ts';

/** The standard definition the CapabilityStatement cites for this operation. */
export const TRANSLATE_OPERATION_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/ConceptMap-translate';

/** The CapabilityStatement entry (`buildCapabilityStatement`'s `operations` option). */
export function translateCapabilityOperation(): { name: string; definition: string; resourceType: string } {
  return { name: 'translate', definition: TRANSLATE_OPERATION_DEFINITION, resourceType: 'ConceptMap' };
}

/**
 * `ConceptMap/$translate` (type level, by `url` or over every loaded map) and
 * `ConceptMap/{id}/$translate`, over the ConceptMaps of `mappings/conceptmaps` — the same ones the
 * mapping engine translates with, reloaded with them. GET takes query parameters; POST a
 * `Parameters` body (or a form, which the HTTP adapter turns into query pairs). The answer is a
 * `Parameters` with `result`, `message` and one `match` per target (R4 §ConceptMap-translate).
 */
export function translateOperation(source: ConceptMapSource): OperationHandler {
  return async (req, target) => {
    if (req.method !== 'GET' && req.method !== 'POST')
      throw fail(405, { code: 'not-supported', diagnostics: '$translate takes GET or POST' });
    const input = readInput(req);
    if (input.flag('reverse'))
      throw notSupported('$translate reverse=true is not supported here: translate from the source system');
    if (input.has('conceptMap'))
      throw notSupported(
        '$translate over a ConceptMap given in the request is not supported: name one by url',
      );
    if (input.has('dependency'))
      throw notSupported('$translate dependency is not supported (no loaded ConceptMap uses dependsOn)');
    const maps = chooseMaps(source.conceptMapResources(), target.id, input);
    const query: TranslateQuery = { codings: codingsOf(input) };
    for (const name of ['source', 'target', 'targetsystem'] as const) {
      const v = input.text(name);
      if (v !== undefined) query[name] = v;
    }
    const answer = translateCodes(maps, query);
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'result', valueBoolean: answer.result },
        { name: 'message', valueString: answer.message },
        ...answer.matches.map((m): ParametersParameter => ({
          name: 'match',
          part: [
            { name: 'equivalence', valueCode: m.equivalence },
            ...(m.concept ? [{ name: 'concept', valueCoding: m.concept }] : []),
            { name: 'source', valueUri: m.source },
          ],
        })),
      ],
    };
    return jsonResponse(200, body);
  };
}

function chooseMaps(
  loaded: ReadonlyMap<string, ConceptMap>,
  id: string | undefined,
  input: Input,
): ConceptMap[] {
  const known = () =>
    [...loaded.values()].map((cm) => `${cm.url ?? cm.id}${cm.version ? `|${cm.version}` : ''}`).join(', ') ||
    'none';
  let maps = [...loaded.values()];
  if (id !== undefined) {
    const cm = loaded.get(id);
    if (!cm) throw notFound(`ConceptMap/${id} is not loaded here (loaded: ${known()})`);
    maps = [cm];
  }
  const url = input.text('url');
  const [canonical, pinned] = url === undefined ? [] : url.split('|');
  const version = input.text('conceptMapVersion') ?? pinned;
  if (canonical !== undefined) maps = maps.filter((cm) => cm.url === canonical);
  if (version !== undefined) maps = maps.filter((cm) => cm.version === version);
  if (maps.length === 0)
    throw notFound(
      `No loaded ConceptMap is ${url ?? `ConceptMap/${id}`}${version !== undefined ? ` at version ${version}` : ''} (loaded: ${known()})`,
    );
  return maps;
}

/** The codes to translate: `code` + `system`, `coding`, or every coding of `codeableConcept`. */
function codingsOf(input: Input): TranslateQuery['codings'] {
  const out: TranslateQuery['codings'] = [];
  const code = input.text('code');
  const system = input.text('system');
  if (code !== undefined) out.push({ ...(system !== undefined ? { system } : {}), code });
  for (const c of [...input.codings('coding'), ...input.concepts('codeableConcept')]) {
    if (typeof c.code === 'string' && c.code !== '')
      out.push({ ...(c.system !== undefined ? { system: c.system } : {}), code: c.code });
  }
  if (out.length === 0)
    throw badRequest(
      '$translate needs a code (with its system), a coding or a codeableConcept',
      'Parameters.parameter',
    );
  return out;
}

interface Input {
  has(name: string): boolean;
  text(name: string): string | undefined;
  flag(name: string): boolean;
  codings(name: string): Coding[];
  concepts(name: string): Coding[];
}

/** Query pairs and (POST) the Parameters body, read the same way. */
function readInput(req: FhirRequest): Input {
  const params: ParametersParameter[] = [];
  if (req.method === 'POST' && req.body !== undefined) {
    const body = req.body as { resourceType?: unknown; parameter?: unknown };
    if (body === null || typeof body !== 'object' || body.resourceType !== 'Parameters')
      throw badRequest('POST $translate takes a Parameters resource', 'resourceType');
    if (Array.isArray(body.parameter)) params.push(...(body.parameter as ParametersParameter[]));
  }
  const query = req.query;
  const bodyValues = (name: string) => params.filter((p) => p?.name === name);
  const text = (name: string): string | undefined => {
    const q = query.find(([n]) => n === name)?.[1];
    if (q !== undefined && q !== '') return q;
    for (const p of bodyValues(name)) {
      const v = p.valueUri ?? p.valueCanonical ?? p.valueUrl ?? p.valueCode ?? p.valueString;
      if (typeof v === 'string' && v !== '') return v;
    }
    return undefined;
  };
  return {
    has: (name) => query.some(([n]) => n === name) || bodyValues(name).length > 0,
    text,
    flag: (name) =>
      query.some(([n, v]) => n === name && v === 'true') ||
      bodyValues(name).some((p) => p.valueBoolean === true),
    // In a query, a coding is written as a token: `system|code`.
    codings: (name) => [
      ...query
        .filter(([n]) => n === name)
        .map(([, v]): Coding => {
          const bar = v.lastIndexOf('|');
          return bar < 0 ? { code: v } : { system: v.slice(0, bar), code: v.slice(bar + 1) };
        }),
      ...bodyValues(name).flatMap((p) => (p.valueCoding ? [p.valueCoding] : [])),
    ],
    concepts: (name) => bodyValues(name).flatMap((p) => p.valueCodeableConcept?.coding ?? []),
  };
}
