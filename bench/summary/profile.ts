/**
 * Where one summary's time goes, stage by stage, measured in this process on the same store with
 * the product's own functions (one call at a time, so the stages do not queue behind each other):
 * person resolution, the policy's decision, the record state that keys kept summaries and
 * decisions, the selection SQL, the ConceptMap read, the whole document build, JSON text and the
 * audit's chained append (the summary names its patients to the audit, so no answer is scanned).
 * The HTTP figure minus these is token checking, routing and the transport.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decidePerson } from '../../src/access/person-decision.ts';
import { CallerAccess } from '../../src/access/request-access.ts';
import { AuditTrail, restAuditEvent } from '../../src/audit/index.ts';
import type { Database } from '../../src/db/database.ts';
import { PostgresInstitutionRegistry } from '../../src/institutions/postgres-registry.ts';
import type { FhirModel } from '../../src/repository/fhir-model.ts';
import { FhirRepository } from '../../src/repository/store/fhir-repository.ts';
import { buildSummary } from '../../src/summary/build-summary.ts';
import { loadIcdTranslations } from '../../src/summary/dedupe.ts';
import { resolvePerson } from '../../src/summary/person.ts';
import { loadRecognitionList } from '../../src/summary/recognition.ts';
import { selectEntries } from '../../src/summary/select-entries.ts';
import { recordStateOf } from '../../src/summary/record-state.ts';
import { percentile, round } from '../support/stats.ts';
import { BASE } from './shapes.ts';

export interface StageFigures {
  stage: string;
  p50: number;
  p95: number;
}

export async function profileStages(
  db: Database,
  model: FhirModel,
  opts: { patientId: string; asOf: Date; viewer: string; clinician: string; rounds: number },
): Promise<StageFigures[]> {
  const baseUrl = 'http://127.0.0.1/fhir';
  const registry = new PostgresInstitutionRegistry(db);
  const recognition = loadRecognitionList(30);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-bench-summary-audit-'));
  const trail = new AuditTrail(db, new FhirRepository(db, model, baseUrl), {
    headFile: path.join(dir, 'head.json'),
  });
  // The clinician the HTTP levels ask as, with the policy settings the app's defaults give.
  const clinicianAccess = new CallerAccess(
    {
      db,
      canonicalBase: BASE,
      settings: {
        careRelationshipDays: 730,
        btgMinutes: 60,
        consentDefault: 'permit',
        episodeTypeSystem: `${BASE}/CodeSystem/episode-type`,
      },
    },
    {
      kind: 'clinician',
      issuer: 'http://127.0.0.1',
      subject: opts.clinician,
      institution: opts.viewer,
      practitioner: opts.clinician.replace(/^Practitioner\//, ''),
      privacyOfficer: false,
    },
    opts.asOf,
  );
  const samples = new Map<string, number[]>();
  const time = async <T>(stage: string, fn: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    const out = await fn();
    const list = samples.get(stage) ?? [];
    list.push(performance.now() - t);
    samples.set(stage, list);
    return out;
  };
  try {
    for (let i = 0; i < opts.rounds; i++) {
      const person = await time('resolve person (2 reads)', () => resolvePerson(db, opts.patientId, BASE));
      await time('policy: clinician decision (1 statement)', () =>
        decidePerson(db, clinicianAccess, {
          goldenId: String(person.golden.id),
          recordIds: person.sourceIds,
        }),
      );
      await time('record state (kept summary and decision key)', () => recordStateOf(db, person));
      await time('selection SQL (selectEntries)', () => selectEntries(db, person.sourceIds, opts.asOf));
      await time('ConceptMap read (loadIcdTranslations)', () => loadIcdTranslations(db));
      const doc = await time('buildSummary (SQL + merging + document)', () =>
        buildSummary(
          {
            db,
            baseUrl,
            canonicalBase: BASE,
            institutions: (id) => registry.get(id),
            recognition,
          },
          { person, lang: 'zh', asOf: opts.asOf, viewerInstitution: opts.viewer },
        ),
      );
      await time('JSON text of the document', () => JSON.stringify(doc));
      await time('audit: chained append (one transaction)', () =>
        trail.append(
          restAuditEvent({
            recorded: new Date().toISOString(),
            interaction: 'operation',
            operation: '$summary',
            outcome: '0',
            actor: {
              issuer: 'http://127.0.0.1',
              subject: opts.clinician,
              roles: ['clinician'],
              fhirUser: opts.clinician,
              institution: opts.viewer,
            },
            purposeOfUse: 'TREAT',
            records: [`Patient/${opts.patientId}`],
            patients: [`Patient/${person.golden.id}`, ...person.sourceIds.map((p) => `Patient/${p}`)],
            person: `Patient/${person.golden.id}`,
            observer: { display: 'County HIE' },
          }),
        ),
      );
    }
  } finally {
    await trail.close();
    await rm(dir, { recursive: true, force: true });
  }
  return [...samples].map(([stage, list]) => ({
    stage,
    p50: round(percentile(list, 50)),
    p95: round(percentile(list, 95)),
  }));
}
