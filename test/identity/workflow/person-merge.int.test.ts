import type { Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startIdentityHarness, validId, type IdentityHarness } from './identity-harness.ts';

const CPH = 'county-peoples-hospital';
const CGCHC = 'chengguan-community-health-centre';
const CMCH = 'county-mch-hospital';

/**
 * A person-level merge: two regional persons found to be one resident. Links only — every
 * record of the source person joins the target person, whose golden record then lists them; the
 * source's golden record stays, inactive, `replaced-by` the target's. No institution's record
 * changes beyond its `refer` link.
 */
describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'person-level merges on $name',
  (server) => {
    let h: IdentityHarness;
    const db = () => h.gw.database.db;
    const links = (g: Patient, type: string) =>
      (g.link ?? [])
        .filter((l) => l.type === type)
        .map((l) => l.other.reference)
        .sort();
    const snapshot = async () =>
      (await db().query(`SELECT patient_ref, person_id, state, active FROM identity_record ORDER BY 1`)).rows;

    beforeAll(async () => {
      h = await startIdentityHarness(server, inject('redisUrl'));
    });
    afterAll(async () => h?.close());

    it('moves every record of the source person to the target; the source golden points at the survivor', async () => {
      // One resident: at the county hospital without her ID, under a name typed another way; at
      // the MCH hospital and the community centre with it (so those two are one person already).
      const nid = validId('33112419880214002');
      const county = await h.send(CPH, { id: 'pm-1', name: '赵莉', birth: '1988-04-12', sex: 'female' });
      const mch = await h.send(CMCH, { id: 'pm-2', name: '赵丽', birth: '1988-02-14', sex: 'female', nid });
      const community = await h.send(CGCHC, {
        id: 'pm-3',
        name: '赵丽',
        birth: '1988-02-14',
        sex: 'female',
        nid,
        phone: '13900001111',
      });
      const target = h.personOf(county)!;
      const source = h.personOf(mch)!;
      expect(source).not.toBe(target);
      const sourceRecords = [`Patient/${mch.id}`, `Patient/${community.id}`];
      expect(h.personOf(community)).toBe(source);
      const sourceIdentifiersBefore = (await h.read(`Patient/${mch.id}`)).identifier;

      const res = await h.call('POST', '/identity/persons/merge', { source, target });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json).toMatchObject({ merged: source, person: target });

      expect(links(await h.read(target), 'seealso')).toEqual(
        [`Patient/${county.id}`, ...sourceRecords].sort(),
      );
      const retired = await h.read(source);
      expect(retired.active).toBe(false);
      expect(links(retired, 'seealso')).toEqual([]);
      expect(links(retired, 'replaced-by')).toEqual([target]);
      for (const ref of sourceRecords) {
        const record = await h.read(ref);
        expect(h.personOf(record)).toBe(target);
      }
      // The institution's own data is untouched apart from the person link.
      expect((await h.read(`Patient/${mch.id}`)).identifier).toEqual(sourceIdentifiersBefore);
      const { rows } = await db().query(
        `SELECT patient_ref, outcome FROM identity_decision WHERE outcome = 'person-merge' ORDER BY 1`,
      );
      expect(rows).toEqual(
        sourceRecords.sort().map((patient_ref) => ({ patient_ref, outcome: 'person-merge' })),
      );

      // The emptied person cannot be merged again, nor receive a merge.
      const before = await snapshot();
      expect((await h.call('POST', '/identity/persons/merge', { source, target })).status).toBe(409);
      expect(
        (await h.call('POST', '/identity/persons/merge', { source: target, target: source })).status,
      ).toBe(409);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses two persons with different verified national IDs, a person into itself, and records that are not persons', async () => {
      const a = await h.send(CPH, {
        id: 'pm-id-a',
        name: '孙国强',
        birth: '1960-04-05',
        sex: 'male',
        nid: validId('33112419600405003'),
      });
      const b = await h.send(CGCHC, {
        id: 'pm-id-b',
        name: '孙国强',
        birth: '1960-04-05',
        sex: 'male',
        nid: validId('33112419600405011'),
      });
      const pa = h.personOf(a)!;
      const pb = h.personOf(b)!;
      expect(pa).not.toBe(pb);
      const before = await snapshot();
      const clash = await h.call('POST', '/identity/persons/merge', { source: pb, target: pa });
      expect(clash.status).toBe(409);
      expect(JSON.stringify(clash.json)).toMatch(/different verified national IDs/);
      expect((await h.call('POST', '/identity/persons/merge', { source: pa, target: pa })).status).toBe(400);
      expect(
        (await h.call('POST', '/identity/persons/merge', { source: `Patient/${a.id}`, target: pb })).status,
      ).toBe(404);
      expect((await h.call('POST', '/identity/persons/merge', { source: pa })).status).toBe(400);
      expect(await snapshot()).toEqual(before);
    });
  },
);
