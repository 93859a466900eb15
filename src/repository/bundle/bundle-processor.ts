import type { Queryable } from '../../db/database.ts';
import { uuidv7 } from '../../kernel/ids.ts';
import { badRequest, fail, toOperationOutcomeError } from '../../kernel/outcomes.ts';
import type { Authorize, RequestAccess } from '../router/fhir-request.ts';
import type { VisibleIf } from '../search/types.ts';
import { preferredReturn } from '../router/respond.ts';
import { lockAllCriteria, matchAllCriteria, multipleMatches } from '../store/conditional.ts';
import type { FhirRepository } from '../store/fhir-repository.ts';
import { assertReferencesExist, collectLocalReferences, type LocalReference } from '../store/references.ts';
import { PendingWrites } from '../store/write-version.ts';
import { findCurrentManyForWrite } from '../store/read.ts';
import { parseEntryRequest, type EntryRequest } from './entry-request.ts';
import { executeEntry, type EntryResult, entryResponse, errorEntry } from './execute-entry.ts';
import { rewriteReferences } from './rewrite-references.ts';
import { shareableSearch, searchTogether, type SharedSearch } from '../search/search-together.ts';
import { searchResultToBundle } from '../search/index.ts';

/**
 * Versions one gathered write statement holds before it is sent. Its parameters are arrays, so
 * their number does not grow with it; this bounds the statement's size.
 */
const MAX_PENDING = 1_000;

/** Processing order inside a transaction (FHIR R4 §3.1.0.11.2). */
const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3 };

interface Planned {
  index: number;
  entry: any;
  req: EntryRequest;
  /** Result decided while planning (a conditional create that matched). */
  decided?: EntryResult;
}

/**
 * Batch and transaction Bundles. A transaction is all-or-nothing in one PostgreSQL
 * transaction: ids are assigned and references rewritten first, new resources are inserted in
 * bulk, every other entry runs through the repository, and references are checked once at the end.
 */
export class BundleProcessor {
  constructor(
    private readonly repo: FhirRepository,
    private readonly maxEntries: number,
  ) {}

  async process(
    body: unknown,
    headers: Record<string, string | undefined>,
    authorize: Authorize,
    access?: RequestAccess,
  ): Promise<string> {
    const bundle = body as any;
    if (!bundle || typeof bundle !== 'object' || bundle.resourceType !== 'Bundle') {
      throw badRequest(
        'POST to the FHIR base takes a batch or transaction Bundle',
        'Bundle',
        'HIE-BUNDLE-001',
      );
    }
    if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
      throw badRequest(
        `Bundle.type must be batch or transaction, got "${bundle.type}"`,
        'Bundle.type',
        'HIE-BUNDLE-002',
      );
    }
    const entries: any[] = Array.isArray(bundle.entry) ? bundle.entry : [];
    if (entries.length > this.maxEntries) {
      throw fail(413, {
        code: 'too-costly',
        diagnostics: `Bundle has ${entries.length} entries; this server takes at most ${this.maxEntries} (HIE_MAX_BUNDLE_ENTRIES)`,
        hieCode: 'HIE-BUNDLE-005',
      });
    }
    const minimal = preferredReturn(headers['prefer']) === 'minimal';
    const results =
      bundle.type === 'transaction'
        ? await this.transaction(entries, authorize, access)
        : await this.batch(entries, authorize, access);
    const responseEntries = results.map((r) => entryResponse(r, this.repo.baseUrl, minimal));
    return `{"resourceType":"Bundle","id":"${uuidv7()}","type":"${bundle.type}-response","entry":[${responseEntries.join(',')}]}`;
  }

  private async batch(entries: any[], authorize: Authorize, access?: RequestAccess): Promise<EntryResult[]> {
    const results: EntryResult[] = [];
    const answered = await this.searchesTogether(entries, authorize, access);
    for (const [index, entry] of entries.entries()) {
      const ready = answered.get(index);
      if (ready) {
        results.push(ready);
        continue;
      }
      try {
        const req = parseEntryRequest(this.repo.model, entry, index);
        authorizeEntry(authorize, req);
        await checkEntryAccess(access, req, entry);
        // A read runs on the pool as the same request sent alone would: a transaction round it
        // would cost two more round trips (BEGIN, COMMIT) per entry and isolate nothing.
        results.push(
          req.method === 'GET'
            ? await executeEntry(this.repo, this.repo.db, req, entry, index, undefined, access?.visibleIf)
            : await this.repo.db.transaction((q) =>
                executeEntry(this.repo, q, req, entry, index, undefined, access?.visibleIf),
              ),
        );
      } catch (err) {
        results.push(errorEntry(toOperationOutcomeError(err)));
      }
    }
    return results;
  }

  /**
   * The batch's identifier look-ups (two or more), run in one statement before the other entries
   * (reads see the same data either way: a batch's entries are independent). An entry that is
   * refused, or any failure of the shared statement, leaves the entry to run on its own.
   */
  private async searchesTogether(
    entries: any[],
    authorize: Authorize,
    access?: RequestAccess,
  ): Promise<Map<number, EntryResult>> {
    const found: { index: number; search: SharedSearch }[] = [];
    for (const [index, entry] of entries.entries()) {
      try {
        const req = parseEntryRequest(this.repo.model, entry, index);
        if (req.method !== 'GET' || req.id || !req.resourceType) continue;
        authorizeEntry(authorize, req);
        await checkEntryAccess(access, req, entry);
        const search = shareableSearch(this.repo.model, {
          resourceType: req.resourceType,
          params: req.criteria ?? [],
          strict: false,
          baseUrl: this.repo.baseUrl,
          ...(access?.visibleIf ? { visibleIf: access.visibleIf } : {}),
        });
        if (search) found.push({ index, search });
      } catch {
        // Answered with its own error when the entry runs alone.
      }
    }
    const answered = new Map<number, EntryResult>();
    if (found.length < 2) return answered;
    try {
      const results = await searchTogether(
        this.repo.db,
        found.map((f) => f.search),
      );
      found.forEach((f, n) =>
        answered.set(f.index, { status: 200, body: searchResultToBundle(results[n]!, this.repo.baseUrl) }),
      );
    } catch {
      answered.clear();
    }
    return answered;
  }

  private async transaction(
    entries: any[],
    authorize: Authorize,
    access?: RequestAccess,
  ): Promise<EntryResult[]> {
    const planned = entries.map((entry, index): Planned => {
      const req = parseEntryRequest(this.repo.model, entry, index);
      authorizeEntry(authorize, req);
      return { index, entry, req };
    });
    for (const p of planned) await checkEntryAccess(access, p.req, p.entry);
    return this.repo.db.transaction(async (q) => {
      // Taken before `assignIds` gives conditional PUTs their ids: those are not locked up front.
      const lockedPutIds = this.explicitPutIds(planned);
      const fullUrls = await this.assignIds(q, planned, lockedPutIds, access?.visibleIf);
      const writes = planned.filter(
        (p) => p.entry.resource && (p.req.method === 'POST' || p.req.method === 'PUT'),
      );
      await rewriteReferences(
        q,
        this.repo.model,
        writes.map((p) => ({ resource: p.entry.resource, index: p.index })),
        fullUrls,
      );
      const deferred: LocalReference[] = [];
      const results = new Array<EntryResult>(planned.length);
      const sorted = [...planned].sort(
        (a, b) => ORDER[a.req.method]! - ORDER[b.req.method]! || a.index - b.index,
      );
      // The transaction's writes gather in one statement: the new resources, then each PUT whose
      // target was read below. Anything else that reads or writes runs only after they are sent.
      const pending = new PendingWrites(this.repo.model, this.repo.baseUrl);
      const send = () => pending.send(q);
      const creates = sorted.filter((p) => p.req.method === 'POST' && !p.decided);
      this.createAll(creates, results, deferred, pending);
      // The resources the PUTs replace, read and locked together rather than one entry at a time
      // (not those another entry of this transaction also deletes or patches: they change first).
      const key = (p: Planned) => `${p.req.resourceType}/${p.req.id}`;
      const touched = new Set(
        sorted.filter((p) => p.req.method === 'DELETE' || p.req.method === 'PATCH').map(key),
      );
      const prefetched = await findCurrentManyForWrite(
        q,
        sorted
          .filter((p) => p.req.method === 'PUT' && p.req.id && !touched.has(key(p)))
          .map((p) => ({ type: p.req.resourceType, id: p.req.id! })),
        new Set(lockedPutIds),
      );
      for (const p of sorted) {
        if (results[p.index]) continue;
        if (p.decided) {
          results[p.index] = p.decided;
          continue;
        }
        // A PUT whose target was prefetched (each is used once) adds to the statement; any other
        // entry may read what is pending, so that is sent first. So is a statement grown large.
        const joins = p.req.method === 'PUT' && prefetched.has(key(p)) && pending.size < MAX_PENDING;
        if (!joins) await send();
        results[p.index] = await executeEntry(
          this.repo,
          q,
          p.req,
          p.entry,
          p.index,
          deferred,
          access?.visibleIf,
          prefetched,
          joins ? pending : undefined,
        );
      }
      await send();
      await assertReferencesExist(q, deferred);
      return results;
    });
  }

  /**
   * Gives every POST its id (or the id of the resource its `ifNoneExist` matched) and every
   * conditional PUT its target, so references between entries can be rewritten before writing.
   */
  private async assignIds(
    q: Queryable,
    planned: Planned[],
    lockedPutIds: readonly string[],
    visibleIf: VisibleIf | undefined,
  ): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    const conditional = planned.flatMap((p) => {
      const { req } = p;
      if (req.method === 'POST' && req.ifNoneExist)
        return [{ p, resourceType: req.resourceType, criteria: req.ifNoneExist }];
      if (req.method === 'PUT' && req.criteria && !req.id)
        return [{ p, resourceType: req.resourceType, criteria: req.criteria }];
      return [];
    });
    // Every key locked, then every key matched, in one statement each (not two per entry). The
    // ids of the PUTs that name them are locked in the same statement (see `prefetched` below).
    await lockAllCriteria(q, conditional, lockedPutIds);
    const matched = new Map<Planned, string[]>();
    const answers = await matchAllCriteria(q, this.repo.model, conditional, visibleIf);
    conditional.forEach((c, i) => matched.set(c.p, answers[i]!));
    for (const p of planned) {
      const { req, entry } = p;
      let id: string | undefined;
      if (req.method === 'POST') {
        if (req.ifNoneExist) {
          const ids = matched.get(p)!;
          if (ids.length > 1) throw multipleMatches(req.resourceType, req.ifNoneExist);
          if (ids[0]) p.decided = { status: 200, stored: await this.repo.read(req.resourceType, ids[0]) };
          id = ids[0];
        }
        id ??= uuidv7();
        if (entry.resource && typeof entry.resource === 'object') entry.resource.id = id;
      } else if (req.method === 'PUT' && req.criteria && !req.id) {
        const ids = matched.get(p)!;
        if (ids.length > 1) throw multipleMatches(req.resourceType, req.criteria);
        id = ids[0] ?? uuidv7();
        req.id = id;
        req.criteria = undefined;
        if (entry.resource && typeof entry.resource === 'object') entry.resource.id = id;
      } else {
        id = req.id;
      }
      if (typeof entry.fullUrl === 'string' && id) map.set(entry.fullUrl, `${req.resourceType}/${id}`);
    }
    return map;
  }

  /** `Type/id` of each PUT that names its id (not a conditional one). */
  private explicitPutIds(planned: Planned[]): string[] {
    return planned
      .filter((p) => p.req.method === 'PUT' && p.req.id && !p.req.criteria)
      .map((p) => `${p.req.resourceType}/${p.req.id}`);
  }

  /** Validates the transaction's new resources and adds their bulk insert to `pending`. */
  private createAll(
    creates: Planned[],
    results: EntryResult[],
    deferred: LocalReference[],
    pending: PendingWrites,
  ) {
    const resources = creates.map((p) => {
      const resource = p.entry.resource;
      if (!resource || resource.resourceType !== p.req.resourceType) {
        throw badRequest(
          `Bundle.entry[${p.index}].resource must be a ${p.req.resourceType}`,
          `Bundle.entry[${p.index}].resource`,
          'HIE-BUNDLE-006',
        );
      }
      this.repo.validate(resource, `Bundle.entry[${p.index}].resource`);
      deferred.push(
        ...collectLocalReferences(
          this.repo.model,
          resource,
          this.repo.baseUrl,
          `Bundle.entry[${p.index}].resource`,
        ),
      );
      return resource;
    });
    const stored = pending.addNew(resources);
    creates.forEach((p, n) => (results[p.index] = { status: 201, stored: stored[n]! }));
  }
}

function authorizeEntry(authorize: Authorize, req: EntryRequest): void {
  const interaction =
    req.method === 'POST'
      ? 'create'
      : req.method === 'PUT'
        ? 'update'
        : req.method === 'PATCH'
          ? 'patch'
          : req.method === 'DELETE'
            ? 'delete'
            : req.id
              ? 'read'
              : 'search';
  // The audit trail is append-only: what the /fhir guard refuses by URL is refused inside Bundles too.
  if (req.resourceType === 'AuditEvent' && interaction !== 'read' && interaction !== 'search') {
    throw fail(405, {
      code: 'not-supported',
      diagnostics: 'AuditEvent is read-only: the exchange writes the audit trail itself',
    });
  }
  authorize(req.resourceType, interaction);
}

/** The access policy on one entry, as on the same request sent alone (absent policy: nothing to check). */
async function checkEntryAccess(
  access: RequestAccess | undefined,
  req: EntryRequest,
  entry: any,
): Promise<void> {
  if (!access) return;
  const resource = entry?.resource && typeof entry.resource === 'object' ? entry.resource : undefined;
  switch (req.method) {
    case 'GET':
      if (req.id) await access.assertReadable(req.resourceType, req.id);
      return;
    case 'POST':
      if (resource) access.prepareWrite(resource);
      return;
    case 'PUT':
      if (req.id) await access.assertWritable(req.resourceType, req.id);
      if (resource) access.prepareWrite(resource);
      return;
    case 'PATCH':
    case 'DELETE':
      if (req.id) await access.assertWritable(req.resourceType, req.id);
      return;
  }
}
