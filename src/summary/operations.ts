import { fail } from '../kernel/outcomes.ts';
import type { OperationHandler } from '../repository/router/fhir-router.ts';
import type { AuditHints } from '../audit/index.ts';
import type { FhirRequest, FhirResponse } from '../repository/router/fhir-request.ts';
import { acceptsGzip, jsonResponse } from '../repository/router/respond.ts';
import type { Queryable } from '../db/database.ts';
import {
  assembleSummary,
  buildSummary,
  readSelection,
  type InstitutionLookup,
  type VisibleFilter,
} from './build-summary.ts';
import { everythingPage, parseEverythingQuery } from './everything.ts';
import { narrativeLanguage } from './narrative.ts';
import { resolvePerson, type Person } from './person.ts';
import { recordStateOf } from './record-state.ts';
import type { RecognitionList } from './recognition.ts';
import type { SelectedEntries, SelectionRules } from './select-entries.ts';
import { withheldKey, type SummaryCache } from './summary-cache.ts';

export const SUMMARY_OPERATION_DEFINITION = 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary';
export const EVERYTHING_OPERATION_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Patient-everything';

export interface SummaryOperationDeps {
  db: Queryable;
  /** The repository's FHIR base (`FhirRepository.baseUrl`). */
  baseUrl: string;
  canonicalBase: string;
  institutions: InstitutionLookup;
  recognition: RecognitionList;
  rules?: SelectionRules;
  /** Built summaries kept between requests (`HIE_SUMMARY_CACHE_SECONDS`); absent: built each time. */
  cache?: SummaryCache;
  /** The document's time; the wall clock in service. */
  clock?: () => Date;
  /**
   * The access-policy seam: throws 403 when the caller may not open this person (called with
   * `person` undefined when the record does not exist, so a refused caller cannot tell the two
   * apart); else which of the person's resources it may see, and the caller's institution (its
   * own results are not flagged as recognised). Defaults: everything.
   */
  policy?: (
    req: FhirRequest,
    person: Person | undefined,
    requestedId: string,
    /** The record's state (`recordStateOf`) when the operation read it: decisions may be kept. */
    recordState?: string,
  ) => Promise<{ visible?: VisibleFilter; institution?: string }>;
}

function requireInstance(
  name: string,
  req: FhirRequest,
  target: { resourceType?: string; id?: string },
): string {
  if (req.method !== 'GET') throw fail(405, { code: 'not-supported', diagnostics: `${name} takes GET` });
  if (target.resourceType !== 'Patient' || !target.id)
    throw fail(400, {
      code: 'not-supported',
      diagnostics: `${name} runs on one Patient: GET /Patient/{id}/${name}`,
    });
  return target.id;
}

/**
 * A person-wide answer with what its AuditEvent should name: the golden person and every record
 * of theirs. The HTTP adapter hands `audit` to the audit middleware (`res.locals.audit`), which then
 * need not scan the answer — a summary is most of a megabyte — for Patient references.
 */
export type AuditedResponse = FhirResponse & { audit?: Pick<AuditHints, 'person' | 'patients'> };

function withAuditHints(response: FhirResponse, person: Person): AuditedResponse {
  const golden = `Patient/${String(person.golden.id)}`;
  return {
    ...response,
    audit: { person: golden, patients: [golden, ...person.sourceIds.map((id) => `Patient/${id}`)] },
  };
}

/** The person of any of its records; an unknown record is refused by the policy first, then 404. */
async function personFor(deps: SummaryOperationDeps, req: FhirRequest, id: string): Promise<Person> {
  try {
    return await resolvePerson(deps.db, id, deps.canonicalBase);
  } catch (err) {
    if ((err as { status?: number }).status === 404 && deps.policy) await deps.policy(req, undefined, id);
    throw err;
  }
}

/** `GET Patient/{id}/$summary`: the person's International Patient Summary (a document Bundle). */
export function summaryOperation(deps: SummaryOperationDeps): OperationHandler {
  return async (req, target) => {
    const id = requireInstance('$summary', req, target);
    const person = await personFor(deps, req, id);
    // With kept summaries, the record's state is read first: it picks the kept document and
    // lets the policy reuse a decision made on the same state.
    const cache = deps.cache?.enabled ? deps.cache : undefined;
    const state = cache ? await recordStateOf(deps.db, person) : undefined;
    const access = (await deps.policy?.(req, person, id, state)) ?? {};
    if (cache && state !== undefined)
      return withAuditHints(await keptSummary(deps, cache, req, person, state, access), person);
    const bundle = await buildSummary(
      {
        db: deps.db,
        baseUrl: deps.baseUrl,
        canonicalBase: deps.canonicalBase,
        institutions: deps.institutions,
        recognition: deps.recognition,
        ...(deps.rules ? { rules: deps.rules } : {}),
        ...(access.visible ? { visible: access.visible } : {}),
      },
      {
        person,
        lang: narrativeLanguage(req.headers['accept-language']),
        asOf: (deps.clock ?? (() => new Date()))(),
        ...(access.institution ? { viewerInstitution: access.institution } : {}),
      },
    );
    return withAuditHints(jsonResponse(200, bundle, { 'Content-Language': bundle.language }), person);
  };
}

/**
 * The summary through the cache: the person's selection as kept (or read now), less what this
 * caller may not see, and the document for that view, language and viewer — built once.
 */
async function keptSummary(
  deps: SummaryOperationDeps,
  cache: SummaryCache,
  req: FhirRequest,
  person: Person,
  state: string,
  access: { visible?: VisibleFilter; institution?: string },
): Promise<FhirResponse> {
  const kept = await cache.person(person, state, (asOf) => readSelection(deps.db, person, asOf, deps.rules));
  const { entries, withheld } = await visibleEntries(kept.selection.entries, access.visible);
  const lang = narrativeLanguage(req.headers['accept-language']);
  const key = [lang, access.institution ?? '', withheldKey(withheld)].join('|');
  const document = await kept.document(key, async () => {
    const bundle = await assembleSummary(
      {
        baseUrl: deps.baseUrl,
        canonicalBase: deps.canonicalBase,
        institutions: deps.institutions,
        recognition: deps.recognition,
      },
      {
        person,
        lang,
        asOf: kept.builtAt,
        ...(access.institution ? { viewerInstitution: access.institution } : {}),
      },
      // The kept selection is shared by every later request: the document is built on a copy.
      { entries: structuredClone(entries), translations: kept.selection.translations },
    );
    return JSON.stringify(bundle);
  });
  const response = jsonResponse(200, document.text, {
    'Content-Language': lang === 'zh' ? 'zh-CN' : 'en',
    Vary: 'Accept-Encoding',
  });
  if (acceptsGzip(req.headers['accept-encoding'])) response.gzipped = await document.gzip();
  return response;
}

/** The entries a caller may see, and the ids of those withheld from it. */
async function visibleEntries(
  entries: SelectedEntries,
  visible: VisibleFilter | undefined,
): Promise<{ entries: SelectedEntries; withheld: string[] }> {
  if (!visible) return { entries, withheld: [] };
  const out = { ...entries };
  const withheld: string[] = [];
  for (const key of Object.keys(entries) as (keyof SelectedEntries)[]) {
    const all = entries[key];
    const shown = await visible(all);
    if (shown.length === all.length) continue;
    const shownSet = new Set(shown);
    for (const r of all) if (!shownSet.has(r)) withheld.push(`${r.resourceType}/${r.id}`);
    out[key] = shown;
  }
  return { entries: out, withheld };
}

/** `GET Patient/{id}/$everything` (`_since`, `_type`, `_count`, `next` links) over all the person's records. */
export function everythingOperation(deps: SummaryOperationDeps): OperationHandler {
  return async (req, target) => {
    const id = requireInstance('$everything', req, target);
    const query = parseEverythingQuery(req.query);
    const person = await personFor(deps, req, id);
    const access = (await deps.policy?.(req, person, id)) ?? {};
    return withAuditHints(
      jsonResponse(
        200,
        await everythingPage(deps.db, person, query, req.requestUrl, deps.baseUrl, access.visible),
      ),
      person,
    );
  };
}

/** The CapabilityStatement entries (`buildCapabilityStatement`'s `operations` option). */
export function summaryCapabilityOperations(): { name: string; definition: string; resourceType: string }[] {
  return [
    { name: 'summary', definition: SUMMARY_OPERATION_DEFINITION, resourceType: 'Patient' },
    { name: 'everything', definition: EVERYTHING_OPERATION_DEFINITION, resourceType: 'Patient' },
  ];
}
