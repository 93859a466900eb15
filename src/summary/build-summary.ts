import { createHash } from 'node:crypto';
import type { Queryable } from '../db/database.ts';
import { dedupe, loadIcdTranslations, type IcdTranslations, type MergedFact } from './dedupe.ts';
import { dateOf, displayOf, sectionNarrative, type Lang } from './narrative.ts';
import type { Person } from './person.ts';
import { recognisedFrom, recognisedItemOf, type RecognitionList } from './recognition.ts';
import { selectEntries, type SelectedEntries, type SelectionRules } from './select-entries.ts';

type Json = Record<string, any>;

const LOINC = 'http://loinc.org';

/** What the summary needs to know of an institution: its names and its tier. */
export type InstitutionLookup = (
  id: string,
) => Promise<{ name: { zh: string; en: string }; tier: string } | undefined>;

/**
 * The seam for the access policy (issue 7, second part): given the resources selected for the
 * person, returns those the caller may see. The default shows everything (token scope only).
 */
export type VisibleFilter = (resources: Json[]) => Json[] | Promise<Json[]>;

export interface SummaryContext {
  db: Queryable;
  /** The FHIR base entries' fullUrls are built on. */
  baseUrl: string;
  canonicalBase: string;
  institutions: InstitutionLookup;
  recognition: RecognitionList;
  rules?: SelectionRules;
  visible?: VisibleFilter;
}

/** What assembling a document needs besides the selection (no database). */
export type AssemblyContext = Omit<SummaryContext, 'db' | 'rules'>;

export interface SummaryRequest {
  person: Person;
  lang: Lang;
  /** The document's time; results' and recognition windows count back from it. */
  asOf: Date;
  /** The caller's institution: its own results are not flagged as recognised from elsewhere. */
  viewerInstitution?: string;
}

interface SectionDef {
  key: keyof SelectedEntries | 'alerts' | 'plan';
  code: string;
  title: Record<Lang, string>;
}

/** IPS sections in the document's order; 46240-8 and 85847-2 are this exchange's extra sections. */
const SECTIONS: SectionDef[] = [
  { key: 'problems', code: '11450-4', title: { zh: '问题列表', en: 'Problem list' } },
  { key: 'medications', code: '10160-0', title: { zh: '用药史', en: 'Medication summary' } },
  { key: 'allergies', code: '48765-2', title: { zh: '过敏与不耐受', en: 'Allergies and intolerances' } },
  { key: 'immunizations', code: '11369-6', title: { zh: '预防接种史', en: 'Immunizations' } },
  { key: 'results', code: '30954-2', title: { zh: '检查检验结果', en: 'Diagnostic results' } },
  { key: 'vitalSigns', code: '8716-3', title: { zh: '生命体征', en: 'Vital signs' } },
  { key: 'procedures', code: '47519-4', title: { zh: '手术与操作史', en: 'History of procedures' } },
  { key: 'encounters', code: '46240-8', title: { zh: '就诊记录', en: 'Encounters' } },
  {
    key: 'plan',
    code: '18776-5',
    title: { zh: '诊疗计划（在途转诊）', en: 'Plan of care (referrals in flight)' },
  },
  {
    key: 'careTeam',
    code: '85847-2',
    title: { zh: '照护团队与家庭医生签约', en: 'Care team and family-doctor contract' },
  },
  {
    key: 'alerts',
    code: '104605-1',
    title: { zh: '提示（检查检验结果互认）', en: 'Alerts (mutual recognition of results)' },
  },
];

/** `meta.source = {base}/institution/{id}#{archive-id}` → the institution id. */
export function institutionOf(resource: Json, canonicalBase: string): string | undefined {
  const src = resource.meta?.source;
  const prefix = `${canonicalBase}/institution/`;
  if (typeof src !== 'string' || !src.startsWith(prefix)) return undefined;
  return src.slice(prefix.length).split('#')[0] || undefined;
}

const PATIENT_REF = /(?:^|\/)Patient\/([^/]+)$/;

/**
 * Points every reference to one of the person's Patient records at the golden record's fullUrl.
 * In place: the rows are this build's own (parsed from its query), and a summary holds hundreds of
 * them, so copying each would double the garbage the document leaves behind.
 */
function rewritePatientRefs(value: unknown, personIds: Set<string>, goldenUrl: string): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) rewritePatientRefs(item, personIds, goldenUrl);
    return;
  }
  const obj = value as Json;
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === 'object') rewritePatientRefs(v, personIds, goldenUrl);
    else if (k === 'reference' && typeof v === 'string' && v.includes('Patient/')) {
      const m = PATIENT_REF.exec(v);
      if (m && personIds.has(m[1]!)) obj[k] = goldenUrl;
    }
  }
}

const addDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString();

/**
 * The International Patient Summary of one person as a document Bundle: Composition, the golden
 * Patient, the deduplicated entries of every section with a Provenance each (which institutions
 * reported it, from which archived message), a CarePlan for referrals in flight and a Flag for each
 * result another institution may accept without repeating the test.
 */
export async function buildSummary(ctx: SummaryContext, req: SummaryRequest): Promise<Json> {
  return assembleSummary(ctx, req, await readSelection(ctx.db, req.person, req.asOf, ctx.rules));
}

/** What a summary is assembled from: the person's rows by the IPS rules, and the ICD translations. */
export interface Selection {
  entries: SelectedEntries;
  translations: IcdTranslations;
}

export async function readSelection(
  db: Queryable,
  person: Person,
  asOf: Date,
  rules?: SelectionRules,
): Promise<Selection> {
  const [entries, translations] = await Promise.all([
    selectEntries(db, person.sourceIds, asOf, rules),
    loadIcdTranslations(db),
  ]);
  return { entries, translations };
}

/**
 * The document from a selection. The selection's resources are changed in place (references to
 * the person's records point at the golden record): pass a copy of one that is kept.
 */
export async function assembleSummary(
  ctx: AssemblyContext,
  req: SummaryRequest,
  selection: Selection,
): Promise<Json> {
  const { person, lang, asOf } = req;
  const { entries: raw, translations } = selection;
  const visible = ctx.visible;
  const selected = visible
    ? (Object.fromEntries(
        await Promise.all(Object.entries(raw).map(async ([k, list]) => [k, await visible(list)])),
      ) as SelectedEntries)
    : raw;

  const urlOf = (r: Json) => `${ctx.baseUrl}/${r.resourceType}/${r.id}`;
  const goldenUrl = urlOf(person.golden);
  const personIds = new Set([person.golden.id, ...person.sourceIds]);
  const names = new Map<string, string>();
  const tiers = new Map<string, string | undefined>();
  const nameOf = async (id: string) => {
    if (!names.has(id)) {
      const inst = await ctx.institutions(id);
      names.set(id, inst?.name[lang] ?? id);
      tiers.set(id, inst?.tier);
    }
    return names.get(id)!;
  };

  const entries: Json[] = [];
  const provenances: Json[] = [];
  const add = (r: Json) => {
    rewritePatientRefs(r, personIds, goldenUrl);
    entries.push({ fullUrl: urlOf(r), resource: r });
  };
  const institutionsOf = async (fact: MergedFact) => {
    const ids = [
      ...new Set(fact.reportedBy.map((r) => institutionOf(r, ctx.canonicalBase)).filter(Boolean)),
    ] as string[];
    return { ids, names: await Promise.all(ids.map(nameOf)) };
  };
  const provenanceFor = (fact: MergedFact, ids: string[]) => {
    const target = fact.resource;
    provenances.push({
      fullUrl: `urn:uuid:${uuidFrom(`provenance|${urlOf(target)}|${target.meta?.versionId}`)}`,
      resource: {
        resourceType: 'Provenance',
        target: [{ reference: urlOf(target) }],
        recorded: target.meta?.lastUpdated ?? asOf.toISOString(),
        agent: ids.map((id) => ({
          type: {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' },
            ],
          },
          who: { reference: `Organization/${id}`, display: names.get(id) ?? id },
        })),
        entity: fact.reportedBy
          .filter((r) => typeof r.meta?.source === 'string')
          .map((r) => ({
            role: 'source',
            what: {
              reference: `${r.resourceType}/${r.id}`,
              identifier: { system: 'urn:ietf:rfc:3986', value: r.meta.source },
            },
          })),
      },
    });
  };

  const sections: Json[] = [];
  const flags: MergedFact[] = [];
  for (const def of SECTIONS) {
    let facts: MergedFact[];
    if (def.key === 'alerts') facts = flags;
    else if (def.key === 'plan') facts = referralPlan(selected.referrals, goldenUrl, urlOf, lang, person);
    else facts = dedupe(selected[def.key], translations);
    const rows: { resource: Json; institutions: string[] }[] = [];
    for (const fact of facts) {
      const reporters = await institutionsOf(fact);
      rows.push({ resource: fact.resource, institutions: reporters.names });
      add(fact.resource);
      if (fact.reportedBy.some((r) => r.meta?.source)) provenanceFor(fact, reporters.ids);
      if (def.key === 'results') {
        const flag = await recognitionFlag(ctx, req, fact.resource, urlOf, goldenUrl, nameOf, tiers);
        if (flag) flags.push({ resource: flag, reportedBy: [flag] });
      }
    }
    if (def.key === 'plan') for (const r of selected.referrals) add(r);
    sections.push({
      title: def.title[lang],
      code: { coding: [{ system: LOINC, code: def.code }] },
      text: sectionNarrative(rows, lang),
      ...(facts.length > 0
        ? { entry: facts.map((f) => ({ reference: urlOf(f.resource) })) }
        : {
            emptyReason: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'unavailable' },
              ],
            },
          }),
    });
  }

  const exchange = {
    resourceType: 'Organization',
    id: 'county-hie',
    identifier: [{ system: `${ctx.canonicalBase}/sid/organization`, value: 'county-hie' }],
    name: lang === 'zh' ? '县域健康信息交换平台' : 'County Health Information Exchange',
  };
  const timestamp = asOf.toISOString();
  const versions = entries.map((e) => `${e.fullUrl}|${e.resource.meta?.versionId ?? ''}`).join('\n');
  const docId = uuidFrom(`summary|${person.golden.id}|${timestamp}|${lang}|${versions}`);
  const composition = {
    resourceType: 'Composition',
    id: docId,
    status: 'final',
    type: { coding: [{ system: LOINC, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: goldenUrl },
    date: timestamp,
    author: [{ reference: urlOf(exchange) }],
    title: lang === 'zh' ? '国际患者摘要' : 'International Patient Summary',
    custodian: { reference: urlOf(exchange) },
    section: sections,
  };
  return {
    resourceType: 'Bundle',
    id: docId,
    language: lang === 'zh' ? 'zh-CN' : 'en',
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${docId}` },
    type: 'document',
    timestamp,
    entry: [
      { fullUrl: urlOf(composition), resource: composition },
      { fullUrl: goldenUrl, resource: person.golden },
      { fullUrl: urlOf(exchange), resource: exchange },
      ...dedupeEntries(entries),
      ...provenances,
    ],
  };
}

/** A resource may sit in two sections (an Observation is also a report's member): one entry each. */
function dedupeEntries(entries: Json[]): Json[] {
  const seen = new Set<string>();
  return entries.filter((e) => (seen.has(e.fullUrl) ? false : (seen.add(e.fullUrl), true)));
}

/** Referrals in flight as one CarePlan whose activities reference the ServiceRequests (IPS allows CarePlan only). */
function referralPlan(
  referrals: Json[],
  goldenUrl: string,
  urlOf: (r: Json) => string,
  lang: Lang,
  person: Person,
): MergedFact[] {
  if (referrals.length === 0) return [];
  const plan = {
    resourceType: 'CarePlan',
    id: `referrals-${person.golden.id}`.slice(0, 64),
    status: 'active',
    intent: 'plan',
    title: lang === 'zh' ? `在途转诊 ${referrals.length} 项` : `${referrals.length} referral(s) in flight`,
    subject: { reference: goldenUrl },
    activity: referrals.map((r) => ({ reference: { reference: urlOf(r), display: displayOf(r.code) } })),
  };
  return [{ resource: plan, reportedBy: referrals }];
}

/**
 * A Flag when the result is a recognised item, from an institution whose results count for it,
 * other than the viewer's, and still inside the item's window: the clinician need not repeat it.
 */
async function recognitionFlag(
  ctx: AssemblyContext,
  req: SummaryRequest,
  result: Json,
  urlOf: (r: Json) => string,
  goldenUrl: string,
  nameOf: (id: string) => Promise<string>,
  tiers: Map<string, string | undefined>,
): Promise<Json | undefined> {
  const item = recognisedItemOf(ctx.recognition, result.code);
  const institution = institutionOf(result, ctx.canonicalBase);
  const when = result.effectiveDateTime ?? result.effectivePeriod?.start ?? result.issued;
  if (!item || !institution || typeof when !== 'string' || institution === req.viewerInstitution)
    return undefined;
  const name = await nameOf(institution);
  if (!recognisedFrom(item, institution, tiers.get(institution))) return undefined;
  const until = addDays(when, item.windowDays);
  const at = Date.parse(when);
  if (Number.isNaN(at) || at > req.asOf.getTime() || Date.parse(until) < req.asOf.getTime()) return undefined;
  const { lang } = req;
  return {
    resourceType: 'Flag',
    id: uuidFrom(`flag|${urlOf(result)}|${item.id}`),
    extension: [
      {
        url: 'http://hl7.org/fhir/StructureDefinition/flag-detail',
        valueReference: { reference: urlOf(result) },
      },
    ],
    status: 'active',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'clinical' }] },
    ],
    code: {
      coding: [
        {
          system: `${ctx.canonicalBase}/CodeSystem/mutual-recognition`,
          code: item.id,
          display: item.name[lang],
        },
      ],
      text:
        lang === 'zh'
          ? `${item.name.zh}：${name} ${dateOf(result)} 的结果互认有效至 ${until.slice(0, 10)}，无需重复检查`
          : `${item.name.en}: the result of ${name} on ${dateOf(result)} is recognised until ${until.slice(0, 10)}; no need to repeat`,
    },
    subject: { reference: goldenUrl },
    period: { start: when, end: until },
    author: { reference: `Organization/${institution}`, display: name },
    meta: result.meta?.source ? { source: result.meta.source } : undefined,
  };
}

/** A UUID from a name (the shape of RFC 9562 v8), so the same document parts get the same ids. */
export function uuidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
