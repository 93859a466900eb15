import type { Patient } from 'fhir/r4';
import type { Database, Queryable } from '../db/database.ts';
import { canonicalFhirJson } from '../kernel/fhir-json.ts';
import { uuidv7 } from '../kernel/ids.ts';
import { demographicsOf, goldenPatient } from './golden/golden-patient.ts';
import { blockingKeys } from './match/blocking.ts';
import { matchRecordOf } from './match/record.ts';
import { resolvePerson } from './match/resolve-person.ts';
import type { MatchRules } from './match/rules.ts';
import { candidatesByKeys, ensurePerson } from './store/identity-store.ts';

/** A person reserved for a Patient about to be created, and the golden record to create with it. */
export interface Founding {
  personId: string;
  golden: Patient;
}

export interface FoundingOptions {
  db: Database;
  rules: MatchRules;
  canonicalBase: string;
  tierOf(institution: string): Promise<string | undefined>;
}

/**
 * Identity first, for the common case of a resident nobody has seen: when no record in the
 * identity tables could be the same person, a person is reserved (its row, no records yet) and
 * its golden record is built, so the worker writes both with the new Patient and its `refer`
 * link in the message's own transaction instead of a second one afterwards (about a fifth of an
 * admission's cost). Read without locks: the linker's locked decision afterwards is what counts.
 * It keeps the reserved person when it still finds nothing; when a record of the same resident
 * arrived meanwhile it places the record there, re-points the link and retires the reserved
 * golden record (inactive, as a person left without records is).
 */
export async function foundingFor(
  opts: FoundingOptions,
  patient: Patient,
  institution: string,
  sourceUrl: string,
): Promise<Founding | undefined> {
  const tier = await opts.tierOf(institution);
  // The record's reference is not known before the write; the entry's uuid stands in for it.
  const placeholder = sourceUrl.replace(/^urn:uuid:/, '');
  const record = matchRecordOf({ ...patient, id: placeholder }, { base: opts.canonicalBase, institution });
  const keys = blockingKeys(record, opts.rules);
  const candidates = await candidatesByKeys(opts.db, keys, record.ref);
  const resolution = resolvePerson(
    record,
    candidates.map((r) => ({
      record: r.match,
      personId: r.personId,
      provisional: r.state === 'provisional',
    })),
    opts.rules,
  );
  if (resolution.outcome !== 'new') return undefined;
  const personId = uuidv7();
  // Reserved before anything names it, so a retried message finds the person its link names.
  await ensurePerson(opts.db, personId);
  const golden = foundedGolden(opts, personId, sourceUrl, patient, tier);
  return { personId, golden };
}

/** The golden record of a person whose only record is `patient`, known as `ref`. */
export function foundedGolden(
  opts: Pick<FoundingOptions, 'rules' | 'canonicalBase'>,
  personId: string,
  ref: string,
  patient: Patient,
  tier: string | undefined,
): Patient {
  return goldenPatient(
    personId,
    // `updated` only orders several sources; one has nothing to be ordered against.
    [{ ref, ...(tier ? { tier } : {}), updated: '', demographics: demographicsOf(patient) }],
    opts.rules.tierTrust,
    opts.canonicalBase,
  );
}

/** Same content whatever the order of keys (the identity tables keep demographics as jsonb). */
export function sameContent(a: Patient, b: Patient): boolean {
  return canonicalFhirJson(a) === canonicalFhirJson(b);
}

/**
 * Whether `personId` is a person reserved by `foundingFor` and never given a record: its row
 * exists, no record was ever placed there and it was not merged. Such a person is the one a
 * source's `refer` link names after a worker stopped between writing the message and placing
 * the record; the record is placed there rather than in a second new person.
 */
export async function isReservedPerson(q: Queryable, personId: string): Promise<boolean> {
  const { rows } = await q.query<{ reserved: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM identity_person WHERE id = $1 AND merged_into IS NULL)
            AND NOT EXISTS (SELECT 1 FROM identity_record WHERE person_id = $1) AS reserved`,
    [personId],
  );
  return rows[0]?.reserved === true;
}

/** Gives back a reserved person whose message was refused: nothing was written for it. */
export async function releasePerson(q: Queryable, personId: string): Promise<void> {
  await q.query(
    `DELETE FROM identity_person p WHERE p.id = $1
        AND NOT EXISTS (SELECT 1 FROM identity_record WHERE person_id = $1)`,
    [personId],
  );
}
