import type { Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startIdentityHarness, validId, type IdentityHarness } from './identity-harness.ts';

const CPH = 'county-peoples-hospital';
const CGCHC = 'chengguan-community-health-centre';
const CMCH = 'county-mch-hospital';

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'identity review decisions and manual links on $name',
  (server) => {
    let h: IdentityHarness;
    const db = () => h.gw.database.db;

    const recordRow = async (p: Patient) =>
      (
        await db().query(`SELECT person_id, state, active FROM identity_record WHERE patient_ref = $1`, [
          `Patient/${p.id}`,
        ])
      ).rows[0] as { person_id: string; state: string; active: boolean };
    const openReviewOf = async (p: Patient) =>
      (
        await db().query(`SELECT id, right_ref FROM identity_review WHERE left_ref = $1 AND state = 'open'`, [
          `Patient/${p.id}`,
        ])
      ).rows as { id: string; right_ref: string }[];
    /** Everything a refused decision must leave as it was. */
    const snapshot = async () => {
      const q = (sql: string) =>
        db()
          .query(sql)
          .then((r) => r.rows);
      return {
        records: await q(`SELECT patient_ref, person_id, state, active FROM identity_record ORDER BY 1`),
        reviews: await q(`SELECT id, state, decided_by FROM identity_review ORDER BY id`),
        rejections: await q(`SELECT a_ref, b_ref FROM identity_rejection ORDER BY 1, 2`),
        persons: await q(`SELECT id FROM identity_person ORDER BY 1`),
        decisions: await q(`SELECT count(*)::int AS n FROM identity_decision`),
      };
    };
    const seeAlso = (g: Patient) =>
      (g.link ?? [])
        .filter((l) => l.type === 'seealso')
        .map((l) => l.other.reference)
        .sort();

    beforeAll(async () => {
      h = await startIdentityHarness(server, inject('redisUrl'));
    });
    afterAll(async () => h?.close());

    /** A son at the county hospital; his mother registered under his ID at the community centre. */
    const sonAndMother = async (tag: string, first17: string) => {
      const nid = validId(first17);
      const son = await h.send(CPH, {
        id: `son-${tag}`,
        name: '张明华',
        birth: `${first17.slice(6, 10)}-${first17.slice(10, 12)}-${first17.slice(12, 14)}`,
        sex: 'male',
        nid,
      });
      const mother = await h.send(CGCHC, {
        id: `mother-${tag}`,
        name: '张桂兰',
        birth: '1938-05-20',
        sex: 'female',
        nid,
      });
      return { son, mother, nid };
    };

    it('accept: the record in review joins the candidate’s person and its provisional person is emptied', async () => {
      const { son, mother } = await sonAndMother('acc', '33112419650817003');
      const [item] = await openReviewOf(mother);
      expect(item?.right_ref).toBe(`Patient/${son.id}`);
      const provisional = h.personOf(mother)!;
      const personRef = h.personOf(son)!;
      expect((await recordRow(mother)).state).toBe('provisional');

      const done = await h.workflow.accept(item!.id, 'Practitioner/reviewer-1');
      expect(`Patient/${done.personId}`).toBe(personRef);

      expect(await recordRow(mother)).toMatchObject({ person_id: personRef.slice(8), state: 'linked' });
      // The source record's refer link moved to the person.
      expect(h.personOf(await h.read(`Patient/${mother.id}`))).toBe(personRef);
      // The person's golden record lists both sources; the provisional one is inactive and empty.
      expect(seeAlso(await h.read(personRef))).toEqual([`Patient/${mother.id}`, `Patient/${son.id}`].sort());
      const emptied = await h.read(provisional);
      expect(emptied.active).toBe(false);
      expect(seeAlso(emptied)).toEqual([]);
      const { rows } = await db().query(`SELECT state, decided_by FROM identity_review WHERE id = $1`, [
        item!.id,
      ]);
      expect(rows).toEqual([{ state: 'accepted', decided_by: 'Practitioner/reviewer-1' }]);

      // A closed item cannot be decided again, and nothing changes.
      const before = await snapshot();
      await expect(h.workflow.reject(item!.id, 'x')).rejects.toMatchObject({ status: 409 });
      await expect(h.workflow.accept(item!.id, 'x')).rejects.toMatchObject({ status: 409 });
      expect(await snapshot()).toEqual(before);
    });

    it('reject: the pair stays apart and a re-sent record opens no new review nor links', async () => {
      const { son, mother, nid } = await sonAndMother('rej', '33112419700302005');
      const [item] = await openReviewOf(mother);
      const own = h.personOf(mother)!;
      await h.workflow.reject(item!.id, 'Practitioner/reviewer-2');
      expect(await recordRow(mother)).toMatchObject({ person_id: own.slice(8), state: 'linked' });
      const { rows } = await db().query(`SELECT a_ref, b_ref FROM identity_rejection`);
      expect(rows).toContainEqual({
        a_ref: [`Patient/${son.id}`, `Patient/${mother.id}`].sort()[0],
        b_ref: [`Patient/${son.id}`, `Patient/${mother.id}`].sort()[1],
      });

      // Sent again with a new phone number: matched anew, but the rejection holds.
      const again = await h.send(CGCHC, {
        id: 'mother-rej',
        name: '张桂兰',
        birth: '1938-05-20',
        sex: 'female',
        nid,
        phone: '13900001111',
      });
      expect(again.id).toBe(mother.id);
      expect(h.personOf(again)).toBe(own);
      expect(await openReviewOf(mother)).toEqual([]);
      expect((await recordRow(mother)).person_id).not.toBe(h.personOf(son)!.slice(8));
    });

    it('manual link moves a record to another person (state manual); unlink gives it one of its own', async () => {
      const a = await h.send(CGCHC, { id: 'ml-a', name: '李春梅', birth: '1980-04-01', sex: 'female' });
      const b = await h.send(CMCH, {
        id: 'ml-b',
        name: '李春妹',
        birth: '1980-01-04',
        sex: 'female',
        phone: '13700002222',
      });
      const personA = h.personOf(a)!;
      const personB = h.personOf(b)!;
      expect(personA).not.toBe(personB);

      await h.workflow.link(`Patient/${a.id}`, { record: `Patient/${b.id}` }, 'hie-admin');
      expect(await recordRow(a)).toMatchObject({ person_id: personB.slice(8), state: 'manual' });
      expect(h.personOf(await h.read(`Patient/${a.id}`))).toBe(personB);
      expect(seeAlso(await h.read(personB))).toEqual([`Patient/${a.id}`, `Patient/${b.id}`].sort());
      expect((await h.read(personA)).active).toBe(false);

      const done = await h.workflow.unlink(`Patient/${a.id}`, 'hie-admin');
      expect(done.personId).not.toBe(personB.slice(8));
      expect(await recordRow(a)).toMatchObject({ person_id: done.personId, state: 'manual' });
      expect(h.personOf(await h.read(`Patient/${a.id}`))).toBe(`Patient/${done.personId}`);
      expect(seeAlso(await h.read(personB))).toEqual([`Patient/${b.id}`]);
      const fresh = await h.read(`Patient/${done.personId}`);
      expect(fresh.meta?.tag).toContainEqual(expect.objectContaining({ code: 'golden' }));
      expect(seeAlso(fresh)).toEqual([`Patient/${a.id}`]);
      const { rows } = await db().query(
        `SELECT 1 FROM identity_rejection WHERE a_ref = $1 AND b_ref = $2`,
        [`Patient/${a.id}`, `Patient/${b.id}`].sort(),
      );
      expect(rows).toHaveLength(1);

      // Linked to the person directly, the rejection a person made is lifted by a person.
      await h.workflow.link(`Patient/${a.id}`, { person: personB }, 'hie-admin');
      expect(await recordRow(a)).toMatchObject({ person_id: personB.slice(8), state: 'manual' });
    });

    it('a review item whose record was since linked by hand can no longer be decided', async () => {
      const { son, mother } = await sonAndMother('man', '33112419681212007');
      const [item] = await openReviewOf(mother);
      await h.workflow.link(`Patient/${mother.id}`, { record: `Patient/${son.id}` }, 'hie-admin');
      const before = await snapshot();
      await expect(h.workflow.reject(item!.id, 'x')).rejects.toMatchObject({ status: 409 });
      expect(await snapshot()).toEqual(before);
      expect(await recordRow(mother)).toMatchObject({
        person_id: h.personOf(son)!.slice(8),
        state: 'manual',
      });
    });

    it('refuses self-links, golden records, conflicting national IDs and merged records, changing nothing', async () => {
      const x = await h.send(CPH, {
        id: 'rf-x',
        name: '陈建国',
        birth: '1960-06-06',
        sex: 'male',
        nid: validId('33112419600606001'),
      });
      const y = await h.send(CGCHC, {
        id: 'rf-y',
        name: '陈建国',
        birth: '1960-06-06',
        sex: 'male',
        nid: validId('33112419600606003'),
      });
      const z = await h.send(CMCH, { id: 'rf-z', name: '周小红', birth: '1990-09-09', sex: 'female' });
      expect(h.personOf(x)).not.toBe(h.personOf(y));
      // z stands for a record merged away inside its institution (ADT A40 sets this).
      await db().query(`UPDATE identity_record SET active = false WHERE patient_ref = $1`, [
        `Patient/${z.id}`,
      ]);
      const before = await snapshot();

      const refused = async (p: Promise<unknown>, status: number) =>
        expect(p).rejects.toMatchObject({ status });
      await refused(h.workflow.link(`Patient/${x.id}`, { record: `Patient/${x.id}` }, 'a'), 400);
      await refused(h.workflow.link(`Patient/${x.id}`, { record: h.personOf(y)! }, 'a'), 400);
      await refused(h.workflow.link(h.personOf(y)!, { record: `Patient/${x.id}` }, 'a'), 400);
      await refused(h.workflow.link(`Patient/${x.id}`, { record: `Patient/${y.id}` }, 'a'), 409);
      await refused(h.workflow.link(`Patient/${x.id}`, { person: h.personOf(y)! }, 'a'), 409);
      await refused(h.workflow.link(`Patient/${x.id}`, { record: `Patient/${z.id}` }, 'a'), 409);
      await refused(h.workflow.link(`Patient/${z.id}`, { record: `Patient/${x.id}` }, 'a'), 409);
      await refused(h.workflow.link('Patient/nope', { record: `Patient/${x.id}` }, 'a'), 404);
      await refused(h.workflow.link('Observation/1', { record: `Patient/${x.id}` }, 'a'), 400);
      await refused(h.workflow.unlink(`Patient/${x.id}`, 'a'), 409);
      await refused(h.workflow.accept('00000000-0000-4000-8000-000000000000', 'a'), 404);
      expect(await snapshot()).toEqual(before);
    });
  },
);
