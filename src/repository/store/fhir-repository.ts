import type { OperationOutcome } from 'fhir/r4';
import type { Database, Queryable } from '../../db/database.ts';
import { isFhirId, uuidv7 } from '../../kernel/ids.ts';
import {
  OperationOutcomeError,
  badRequest,
  conflict,
  notFound,
  outcome,
  preconditionFailed,
} from '../../kernel/outcomes.ts';
import type { FhirModel } from '../fhir-model.ts';
import { validateStructure } from '../validation/index.ts';
import { claimedProfileIssues } from '../../validate/validate-resource.ts';
import type { StoredResource } from '../types.ts';
import { lockCriteria, matchCriteria, multipleMatches } from './conditional.ts';
import type { VisibleIf } from '../search/types.ts';
import { applyJsonPatch } from './json-patch.ts';
import {
  findCurrent,
  findCurrentForWrite,
  readCurrent,
  readVersion,
  type PrefetchedCurrent,
} from './read.ts';
import { assertReferencesExist, collectLocalReferences, type LocalReference } from './references.ts';
import { type PendingWrites, writeDeletion, writeVersion } from './write-version.ts';

/** What a write did: 201 for a new resource, 200 for an update or a match that was kept. */
export interface WriteResult {
  status: 200 | 201;
  stored: StoredResource;
  outcome?: OperationOutcome;
}

/**
 * Options every write accepts. Inside a transaction Bundle the caller passes its own client
 * and collects references to check once all entries are written (entries may point at each other).
 */
export interface WriteOptions {
  tx?: Queryable;
  ifMatch?: number;
  /** Where to put reference checks instead of running them now. */
  deferredReferences?: LocalReference[];
  /** Prefix for error expressions, e.g. `Bundle.entry[3].resource`. */
  pathPrefix?: string;
  /** The access policy's row predicate: conditional criteria match only what the caller sees. */
  visibleIf?: VisibleIf;
  /** Current versions a transaction already read and locked (each used once, then read again). */
  prefetched?: PrefetchedCurrent;
  /**
   * A transaction's statement under construction: an update whose current version was
   * prefetched adds its write here instead of running it, and the caller runs them all at once.
   */
  pendingWrites?: PendingWrites;
}

/**
 * The repository's interactions on PostgreSQL (FHIR R4 RESTful API §3.1.0): each write validates,
 * versions, indexes and checks references in one database transaction. The HTTP router and the
 * Bundle processor both stand on this class; it knows nothing of HTTP.
 */
export class FhirRepository {
  constructor(
    readonly db: Database,
    readonly model: FhirModel,
    readonly baseUrl: string,
  ) {}

  /** `q`: a transaction reading what it wrote itself (a GET entry after the writes). */
  read(type: string, id: string, q: Queryable = this.db): Promise<StoredResource> {
    this.assertType(type);
    return readCurrent(q, type, id);
  }

  vread(type: string, id: string, versionId: number): Promise<StoredResource> {
    this.assertType(type);
    return readVersion(this.db, type, id, versionId);
  }

  /** create, with `If-None-Exist` criteria when given (conditional create). */
  async create(
    resource: Record<string, any>,
    ifNoneExist?: [string, string][],
    opts: WriteOptions = {},
  ): Promise<WriteResult> {
    this.validate(resource, opts.pathPrefix);
    return this.inTransaction(opts.tx, async (q) => {
      if (ifNoneExist) {
        await lockCriteria(q, resource.resourceType, ifNoneExist);
        const ids = await matchCriteria(q, this.model, resource.resourceType, ifNoneExist, opts.visibleIf);
        if (ids.length > 1) throw multipleMatches(resource.resourceType, ifNoneExist);
        if (ids.length === 1)
          return { status: 200, stored: await readCurrent(q, resource.resourceType, ids[0]!) };
      }
      const fresh = { ...resource, id: uuidv7() };
      const stored = await writeVersion(q, this.model, fresh, undefined, 'POST', this.baseUrl);
      await this.checkReferences(q, fresh, opts);
      return { status: 201, stored };
    });
  }

  /** update by id; creates the resource when the id is new (update-as-create with a client id). */
  async update(
    type: string,
    id: string,
    resource: Record<string, any>,
    opts: WriteOptions = {},
  ): Promise<WriteResult> {
    this.assertType(type);
    if (resource.resourceType !== type) {
      throw badRequest(
        `Body is a ${String(resource.resourceType)}, the URL names ${type}`,
        'resourceType',
        'HIE-REPO-002',
      );
    }
    if (resource.id !== id) {
      throw badRequest(
        `Body id "${String(resource.id)}" does not match the URL id "${id}"`,
        `${type}.id`,
        'HIE-REPO-003',
      );
    }
    if (!isFhirId(id)) throw badRequest(`"${id}" is not a valid FHIR id`, `${type}.id`, 'HIE-REPO-004');
    this.validate(resource, opts.pathPrefix);
    return this.inTransaction(opts.tx, async (q) => {
      const key = `${type}/${id}`;
      const known = opts.prefetched?.get(key);
      opts.prefetched?.delete(key);
      const previous = known === undefined ? await findCurrentForWrite(q, type, id) : (known ?? undefined);
      this.checkVersion(type, id, previous, opts.ifMatch);
      const stored =
        opts.pendingWrites && known !== undefined
          ? opts.pendingWrites.addVersion({ ...resource }, previous, 'PUT')
          : await writeVersion(q, this.model, { ...resource }, previous, 'PUT', this.baseUrl);
      await this.checkReferences(q, resource, opts);
      return { status: previous && !previous.deleted ? 200 : 201, stored };
    });
  }

  /** conditional update (`PUT /Type?criteria`): no match creates, one match updates, several fail. */
  async conditionalUpdate(
    type: string,
    criteria: [string, string][],
    resource: Record<string, any>,
    opts: WriteOptions = {},
  ): Promise<WriteResult> {
    this.assertType(type);
    this.validate(resource, opts.pathPrefix);
    return this.inTransaction(opts.tx, async (q) => {
      await lockCriteria(q, type, criteria);
      const ids = await matchCriteria(q, this.model, type, criteria, opts.visibleIf);
      if (ids.length > 1) throw multipleMatches(type, criteria);
      const id = ids[0] ?? (typeof resource.id === 'string' ? resource.id : uuidv7());
      if (ids[0] && resource.id !== undefined && resource.id !== ids[0]) {
        throw badRequest(
          `Body id "${resource.id}" differs from the matching resource ${type}/${ids[0]}`,
          `${type}.id`,
        );
      }
      return this.update(type, id, { ...resource, id }, { ...opts, tx: q });
    });
  }

  /** JSON Patch on the current version; the result is validated like any update. */
  async patch(type: string, id: string, ops: unknown, opts: WriteOptions = {}): Promise<WriteResult> {
    this.assertType(type);
    return this.inTransaction(opts.tx, async (q) => {
      const previous = await readCurrent(q, type, id);
      this.checkVersion(type, id, previous, opts.ifMatch);
      const patched = applyJsonPatch(JSON.parse(previous.json!), ops);
      if (patched.resourceType !== type || patched.id !== id) {
        throw badRequest('A patch may not change resourceType or id', `${type}.id`, 'HIE-PATCH-006');
      }
      this.validate(patched, opts.pathPrefix);
      const current = await findCurrent(q, type, id, true);
      this.checkVersion(type, id, current, previous.versionId);
      const stored = await writeVersion(q, this.model, patched, current, 'PATCH', this.baseUrl);
      await this.checkReferences(q, patched, opts);
      return { status: 200, stored };
    });
  }

  /** Soft delete: a new version marked deleted. Deleting a missing or deleted resource is fine (idempotent). */
  async delete(type: string, id: string, opts: WriteOptions = {}): Promise<StoredResource | undefined> {
    this.assertType(type);
    return this.inTransaction(opts.tx, async (q) => {
      const previous = await findCurrent(q, type, id, true);
      this.checkVersion(type, id, previous, opts.ifMatch);
      if (!previous || previous.deleted) return undefined;
      await this.assertNotReferenced(q, type, id);
      return writeDeletion(q, previous);
    });
  }

  async conditionalDelete(
    type: string,
    criteria: [string, string][],
    opts: WriteOptions = {},
  ): Promise<number> {
    this.assertType(type);
    return this.inTransaction(opts.tx, async (q) => {
      await lockCriteria(q, type, criteria);
      const ids = await matchCriteria(q, this.model, type, criteria, opts.visibleIf);
      if (ids.length > 1) throw multipleMatches(type, criteria);
      if (ids.length === 0) return 0;
      await this.delete(type, ids[0]!, { tx: q });
      return 1;
    });
  }

  assertType(type: string): void {
    if (!this.model.isResourceType(type))
      throw notFound(`Unknown resource type "${type}" (not an R4 resource type)`);
  }

  /**
   * Structural validation, then the profiles the resource claims in `meta.profile` that this
   * server knows (the region's, in `profiles/`): a resource that says it conforms must. Throws
   * 422 with every issue when any is an error; a profile the server does not know is not held
   * against the writer (FHIR leaves that to the server: it is not checked, and not refused).
   */
  validate(resource: Record<string, any>, pathPrefix?: string): void {
    const issues = validateStructure(this.model, resource, pathPrefix ? { pathPrefix } : {});
    const isError = (i: { severity: string }) => i.severity === 'error' || i.severity === 'fatal';
    if (issues.some(isError)) throw new OperationOutcomeError(422, outcome(...issues));
    const claimed = resource.meta?.profile;
    if (!Array.isArray(claimed) || claimed.length === 0) return;
    const profileIssues = claimedProfileIssues(resource, pathPrefix ? { pathPrefix } : {});
    if (profileIssues.some(isError))
      throw new OperationOutcomeError(422, outcome(...issues, ...profileIssues));
  }

  private checkVersion(
    type: string,
    id: string,
    current: StoredResource | undefined,
    ifMatch: number | undefined,
  ): void {
    if (ifMatch === undefined) return;
    if (!current || current.deleted)
      throw preconditionFailed(`${type}/${id} does not exist; If-Match cannot hold`);
    if (current.versionId !== ifMatch) {
      throw preconditionFailed(`${type}/${id} is at version ${current.versionId}, not ${ifMatch} (If-Match)`);
    }
  }

  private async checkReferences(
    q: Queryable,
    resource: Record<string, any>,
    opts: WriteOptions,
  ): Promise<void> {
    const refs = collectLocalReferences(this.model, resource, this.baseUrl, opts.pathPrefix);
    if (opts.deferredReferences) opts.deferredReferences.push(...refs);
    else await assertReferencesExist(q, refs);
  }

  /** Referential integrity both ways: a resource others still point at is not deleted from under them. */
  private async assertNotReferenced(q: Queryable, type: string, id: string): Promise<void> {
    const { rows } = await q.query(
      `SELECT x.resource_type, x.resource_id FROM sp_reference x
        WHERE x.target_type = $1 AND x.target_id = $2 AND NOT (x.resource_type = $1 AND x.resource_id = $2)
          AND x.resource_type <> 'AuditEvent' LIMIT 1`,
      [type, id],
    );
    if (rows[0]) {
      throw conflict(
        `${type}/${id} is referenced by ${rows[0].resource_type}/${rows[0].resource_id}; delete that first`,
      );
    }
  }

  private async inTransaction<T>(tx: Queryable | undefined, fn: (q: Queryable) => Promise<T>): Promise<T> {
    return tx ? fn(tx) : this.db.transaction(fn);
  }
}
