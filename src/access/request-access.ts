import type { Queryable } from '../db/database.ts';
import { forbidden } from '../kernel/outcomes.ts';
import { loadFhirModel } from '../repository/fhir-model.ts';
import { extractIndexRows } from '../repository/index/extract-index.ts';
import type { RequestAccess } from '../repository/router/fhir-request.ts';
import { SqlParams } from '../repository/search/sql-builder.ts';
import type { VisibleIf } from '../repository/search/types.ts';
import type { Caller } from './caller.ts';
import type { PolicySettings } from './policy-settings.ts';
import { visibleIfFor } from './visible-sql.ts';

export interface AccessDeps {
  db: Queryable;
  settings: PolicySettings;
  canonicalBase: string;
}

/** What the policy tells the audit trail about a request (`res.locals.audit`). */
export type NoteBreakGlass = () => void;

/** Tells the audit trail the regional person (golden `Patient/{id}`) a request was about. */
export type NotePerson = (person: string) => void;

/**
 * The access policy of one request, as the repository asks for it. One SQL predicate decides
 * everything a caller sees (see visible-sql.ts); reads by id ask that predicate about the one
 * row, so a resource is readable exactly when a search could return it. A hidden resource and a
 * missing one get the same 403 with the same words (CONTRACTS: "403 for any id of that type,
 * existing or not").
 */
export class CallerAccess implements RequestAccess {
  readonly visibleIf: VisibleIf | undefined;

  constructor(
    private readonly deps: AccessDeps,
    readonly caller: Caller,
    readonly now: Date,
    private readonly noteBreakGlass: NoteBreakGlass = () => {},
    private readonly notePersonHint: NotePerson = () => {},
  ) {
    this.visibleIf = visibleIfFor(caller, deps.settings, now);
  }

  get settings(): PolicySettings {
    return this.deps.settings;
  }

  /** Tells the audit trail that this request used a break-the-glass grant. */
  usedBreakGlass(): void {
    this.noteBreakGlass();
  }

  /** Tells the audit trail whose records a request touched (also when it is refused). */
  notePerson(person: string): void {
    this.notePersonHint(person);
  }

  async assertReadable(resourceType: string, id: string): Promise<void> {
    if (!this.visibleIf) return;
    const row = await this.rowCheck(resourceType, id);
    // The person is named in the audit also for a refusal: it belongs to their access history.
    if (row?.person) this.notePerson(`Patient/${row.person}`);
    if (!row?.visible) throw this.refusal(`${resourceType}/${id}`);
    if (this.caller.kind === 'clinician' && row.by_grant) this.noteBreakGlass();
  }

  /**
   * vread and instance history show earlier versions, whose content can differ from the current
   * one (a result filed under the wrong patient and then corrected, a sensitivity label added
   * later): each version shown must be visible on its own, by the same predicate as the current
   * row, with the compartments that version had. `version` absent: every version (instance
   * history). A deleted version shows no content and needs no check.
   */
  async assertVersionsReadable(resourceType: string, id: string, version?: number): Promise<void> {
    await this.assertReadable(resourceType, id);
    const visibleIf = this.visibleIf;
    if (!visibleIf) return;
    const versions = await this.deps.db.query<{ content: Record<string, any> | string }>(
      `SELECT content FROM resource_history
        WHERE resource_type = $1 AND id = $2 AND content IS NOT NULL AND ($3::int IS NULL OR version_id = $3)`,
      [resourceType, id, version ?? null],
    );
    const model = loadFhirModel();
    for (const row of versions.rows) {
      const content = typeof row.content === 'string' ? JSON.parse(row.content) : row.content;
      const sql = new SqlParams();
      const r = await this.deps.db.query<{ visible: boolean }>(
        `SELECT (${visibleIf('r', sql.bind)}) AS visible
           FROM (SELECT ${sql.bind(resourceType)}::text AS resource_type, ${sql.bind(id)}::text AS id,
                        ${sql.bind(extractIndexRows(model, content).compartments)}::text[] AS compartments,
                        ${sql.bind(JSON.stringify(content))}::json AS content) r`,
        sql.values,
      );
      if (!r.rows[0]?.visible) throw this.refusal(`${resourceType}/${id}`);
    }
  }

  async assertWritable(resourceType: string, id: string): Promise<void> {
    if (this.caller.kind === 'full') return;
    this.assertMayWrite();
    const row = await this.rowCheck(resourceType, id);
    if (row && !row.visible)
      throw forbidden(
        `${resourceType}/${id} belongs to another institution: an institution changes only what it wrote`,
      );
  }

  prepareWrite(resource: Record<string, any>): void {
    if (this.caller.kind === 'full') return;
    this.assertMayWrite();
    // An institution's writes are its own: meta.source names it, so it can read them back and
    // nobody mistakes them for another institution's records.
    const own = `${this.deps.canonicalBase}/institution/${this.caller.institution}`;
    const source = resource.meta?.source;
    if (source === undefined) {
      resource.meta = { ...(resource.meta ?? {}), source: own };
      return;
    }
    if (typeof source !== 'string' || (source !== own && !source.startsWith(`${own}#`)))
      throw forbidden(
        `meta.source must name the sending institution (${own}): an institution writes only as itself`,
      );
  }

  assertHistoryAcrossResources(): void {
    if (this.caller.kind !== 'full')
      throw forbidden(
        'History across resources is for administrators: ask for one resource’s history instead',
      );
  }

  /** Whether this caller holds an unexpired break-the-glass grant (searches cannot tell which rows used it). */
  async holdsGrant(): Promise<boolean> {
    if (this.caller.kind !== 'clinician') return false;
    const r = await this.deps.db.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM access_grant WHERE issuer = $1 AND subject = $2 AND expires_at > now()) AS held`,
      [this.caller.issuer, this.caller.subject],
    );
    return r.rows[0]?.held === true;
  }

  refusal(what: string) {
    return forbidden(refusalText(this.caller, what, this.deps.settings));
  }

  private assertMayWrite(): void {
    if (this.caller.kind !== 'institution' || !this.caller.institution)
      throw forbidden('Only member institutions (their own records) and the pipeline write through /fhir');
  }

  /** The policy's verdict on one row, and whether a clinician sees it only through a grant. */
  private async rowCheck(
    resourceType: string,
    id: string,
  ): Promise<{ visible: boolean; by_grant: boolean; person: string | null } | undefined> {
    const sql = new SqlParams();
    const visible = this.visibleIf ? this.visibleIf('r', sql.bind) : 'true';
    const byGrant =
      this.caller.kind === 'clinician'
        ? `EXISTS (SELECT 1 FROM unnest(r.compartments) AS gc(id) WHERE NOT hie_care_relationship(
             hie_person_records(hie_person_of(gc.id)), ${sql.bind(this.caller.institution)},
             ${sql.bind(this.caller.practitioner ?? null)}::text,
             ${sql.bind(sinceOf(this.deps.settings, this.now))}::timestamptz, ${sql.bind(this.deps.settings.episodeTypeSystem)}))`
        : 'false';
    const r = await this.deps.db.query<{ visible: boolean; by_grant: boolean; person: string | null }>(
      `SELECT (${visible}) AS visible, (${byGrant}) AS by_grant,
              (SELECT hie_person_of(pc.id) FROM unnest(r.compartments) AS pc(id) LIMIT 1) AS person
         FROM resource r
        WHERE r.resource_type = ${sql.bind(resourceType)} AND r.id = ${sql.bind(id)}`,
      sql.values,
    );
    return r.rows[0];
  }
}

export function sinceOf(settings: PolicySettings, now: Date): string {
  return new Date(now.getTime() - settings.careRelationshipDays * 86_400_000).toISOString();
}

/** The 403's words: what right is missing, never whether the record exists. */
export function refusalText(caller: Caller, what: string, settings: PolicySettings): string {
  switch (caller.kind) {
    case 'clinician':
      return (
        `${what} is not open to ${caller.institution}: a clinician needs a care relationship with the person ` +
        `(an encounter at the institution within ${settings.careRelationshipDays} days, a referral to it, a ` +
        `family-doctor contract or care-team membership) or a break-the-glass grant (POST /access/break-glass), ` +
        `and the person's consent must not exclude the institution`
      );
    case 'person':
      return `${what} is not open to this token: a person token reads only its own person's records`;
    case 'institution':
      return `${what} is not open to ${caller.institution}: an institution token reads only what it wrote`;
    case 'privacy-officer':
      return `${what} is not open to a privacy officer: the role reviews its institution's AuditEvents, grants and access histories; reading records needs the clinician role`;
    default:
      return `${what} is not open to this token: it carries no clinician, institution or patient context`;
  }
}
