import type { Queryable } from '../db/database.ts';
import { notFound } from '../kernel/outcomes.ts';

type Json = Record<string, any>;

/** A regional person: the golden Patient and the institutions' own Patient records. */
export interface Person {
  /** The golden record; a record not (yet) linked stands for itself. */
  golden: Json;
  /** Ids of the source Patients, the records every clinical resource points at. */
  sourceIds: string[];
}

const isGolden = (p: Json, canonicalBase: string) =>
  (p.meta?.tag ?? []).some(
    (t: Json) => t.system === `${canonicalBase}/CodeSystem/record-kind` && t.code === 'golden',
  );

const linked = (p: Json, type: string): string[] =>
  (p.link ?? [])
    .filter((l: Json) => l.type === type && typeof l.other?.reference === 'string')
    .map((l: Json) => String(l.other.reference).replace(/^.*Patient\//, ''));

async function readPatient(db: Queryable, id: string): Promise<Json | undefined> {
  const r = await db.query<{ content: Json }>(
    `SELECT content FROM resource WHERE resource_type = 'Patient' AND id = $1 AND NOT deleted`,
    [id],
  );
  return r.rows[0]?.content;
}

/**
 * Any record of the person — a source or the golden — resolves to the golden Patient and its
 * sources (CONTRACTS "Identity links": source → golden `refer`, golden → sources `seealso`).
 * A source without a person yet is a person of one record.
 */
export async function resolvePerson(
  db: Queryable,
  patientId: string,
  canonicalBase: string,
): Promise<Person> {
  const start = await readPatient(db, patientId);
  if (!start) throw notFound(`Patient/${patientId} is not known`);
  let golden = start;
  if (!isGolden(start, canonicalBase)) {
    const goldenId = linked(start, 'refer')[0];
    const found = goldenId ? await readPatient(db, goldenId) : undefined;
    if (!found) return { golden: start, sourceIds: [patientId] };
    golden = found;
  }
  const sourceIds = linked(golden, 'seealso');
  // The record asked for is always a source unless it is the golden one itself.
  if (golden !== start && !sourceIds.includes(patientId)) sourceIds.push(patientId);
  return { golden, sourceIds };
}
