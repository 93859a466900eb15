import express, { Router, type Response } from 'express';
import type { Identifier, Patient } from 'fhir/r4';
import { requireAdmin } from '../../admin/require-admin.ts';
import type { AuthContext } from '../../auth/verify-token.ts';
import type { Queryable } from '../../db/database.ts';
import { badRequest } from '../../kernel/outcomes.ts';
import type { IdentityWorkflow, LinkTarget, WorkflowOutcome } from '../workflow/identity-workflow.ts';
import { openReviews, type ReviewRow } from '../workflow/workflow-store.ts';

export interface IdentityRoutesDeps {
  db: Queryable;
  workflow: IdentityWorkflow;
  /** A stored source Patient by `Patient/{id}`; undefined when it is gone. */
  readPatient(ref: string): Promise<Patient | undefined>;
  maxBodyBytes?: number;
}

const DEFAULT_COUNT = 20;
const MAX_COUNT = 100;

/**
 * `/identity/*` (CONTRACTS "Identity review"): the open review queue, a reviewer's accept or
 * reject, manual links and unlinks. Administrators only for now; the summary issue's access
 * policy will widen it. Every decision is stored with who made it (the token's `fhirUser`, else
 * its subject).
 */
export function identityRoutes(deps: IdentityRoutesDeps): Router {
  const router = Router();
  router.use('/identity', requireAdmin('/identity'));
  const json = express.json({
    type: ['application/json', 'application/fhir+json'],
    limit: deps.maxBodyBytes ?? 1_000_000,
  });

  router.get('/identity/review', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const count = countOf(query['_count']);
    const after = cursorOf(query['_cursor']);
    // One more than asked tells whether there is a next page.
    const rows = await openReviews(deps.db, count + 1, after);
    const page = rows.slice(0, count);
    const last = page[page.length - 1];
    const next =
      rows.length > count && last
        ? `/identity/review?${new URLSearchParams({ _count: String(count), _cursor: encodeCursor(last) })}`
        : undefined;
    res.json({ items: await Promise.all(page.map((r) => item(r))), ...(next ? { next } : {}) });
  });

  router.post('/identity/review/:id/accept', async (req, res) => {
    const done = await deps.workflow.accept(String(req.params.id), decidedBy(res));
    res.json(answer(done, { review: String(req.params.id), state: 'accepted' }));
  });

  router.post('/identity/review/:id/reject', async (req, res) => {
    const done = await deps.workflow.reject(String(req.params.id), decidedBy(res));
    res.json(answer(done, { review: String(req.params.id), state: 'rejected' }));
  });

  router.post('/identity/links', json, async (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw badRequest('The body must be a JSON object {"source": "Patient/…", "target": "Patient/…"}');
    }
    const hasTarget = body['target'] !== undefined;
    const hasPerson = body['person'] !== undefined;
    if (hasTarget === hasPerson) {
      throw badRequest('Give exactly one of "target" (a source record) or "person" (a golden record)');
    }
    const target: LinkTarget = hasTarget
      ? { record: stringField(body, 'target') }
      : { person: stringField(body, 'person') };
    const done = await deps.workflow.link(stringField(body, 'source'), target, decidedBy(res));
    res.json(answer(done));
  });

  router.post('/identity/persons/merge', json, async (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw badRequest(
        'The body must be a JSON object {"source": "Patient/{golden}", "target": "Patient/{golden}"}',
      );
    }
    const done = await deps.workflow.mergePersons(
      stringField(body, 'source'),
      stringField(body, 'target'),
      decidedBy(res),
    );
    res.json({
      merged: done.ref,
      person: `Patient/${done.personId}`,
      persons: done.persons.map((p) => `Patient/${p}`),
    });
  });

  router.delete('/identity/links/:id', async (req, res) => {
    const done = await deps.workflow.unlink(`Patient/${String(req.params.id)}`, decidedBy(res));
    res.json(answer(done));
  });

  async function side(ref: string) {
    const patient = await deps.readPatient(ref);
    const identifiers: Identifier[] = patient?.identifier ?? [];
    return { patient: ref, identifiers };
  }

  async function item(r: ReviewRow) {
    const [left, right] = await Promise.all([side(r.leftRef), side(r.rightRef)]);
    return { id: r.id, score: r.score, grade: r.grade, fields: r.fields, left, right };
  }

  return router;
}

function answer(done: WorkflowOutcome, extra: Record<string, string> = {}) {
  return {
    ...extra,
    patient: done.ref,
    person: `Patient/${done.personId}`,
    linkState: done.state,
    persons: done.persons.map((p) => `Patient/${p}`),
  };
}

/** Who decided: the token's FHIR user when it names one, else its subject. */
function decidedBy(res: Response): string {
  const auth = res.locals.auth as AuthContext;
  return auth.fhirUser ?? auth.subject;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v.length === 0) throw badRequest(`"${name}" must be a string`, name);
  return v;
}

function countOf(raw: unknown): number {
  if (raw === undefined) return DEFAULT_COUNT;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1) {
    throw badRequest(`_count must be a whole number from 1 to ${MAX_COUNT}`, '_count');
  }
  return Math.min(Number(raw), MAX_COUNT);
}

const encodeCursor = (r: ReviewRow) =>
  Buffer.from(JSON.stringify([r.createdExact, r.id])).toString('base64url');

function cursorOf(raw: unknown): { createdAt: string; id: string } | undefined {
  if (raw === undefined) return undefined;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(String(raw), 'base64url').toString('utf8')) as unknown[];
    if (
      typeof createdAt === 'string' &&
      /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)$/.test(createdAt) &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(id)
    ) {
      return { createdAt, id };
    }
  } catch {
    // falls through to the error below
  }
  throw badRequest('_cursor is not a cursor this server gave out (use "next" as given)', '_cursor');
}
