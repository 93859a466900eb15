import type { Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NATIONAL_ID_SYSTEM } from '../../../src/identity/national-id.ts';
import { startIdentityHarness, validId, type IdentityHarness } from '../workflow/identity-harness.ts';

const CPH = 'county-peoples-hospital';
const CGCHC = 'chengguan-community-health-centre';
const DCCHC = 'dongcheng-community-health-centre';

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  '/identity routes on $name',
  (server) => {
    let h: IdentityHarness;
    const pairs: { son: Patient; mother: Patient; nid: string }[] = [];

    beforeAll(async () => {
      h = await startIdentityHarness(server, inject('redisUrl'));
      // Two residents' mothers registered under their sons' IDs: two review items, in this order.
      for (const [tag, first17, name] of [
        ['a', '33112419650817003', '张明华'],
        ['b', '33112419721103007', '王建军'],
      ] as const) {
        const nid = validId(first17);
        const birth = `${first17.slice(6, 10)}-${first17.slice(10, 12)}-${first17.slice(12, 14)}`;
        const son = await h.send(CPH, { id: `son-${tag}`, name, birth, sex: 'male', nid });
        const mother = await h.send(CGCHC, {
          id: `mother-${tag}`,
          name: '李桂兰',
          birth: '1940-02-02',
          sex: 'female',
          nid,
        });
        pairs.push({ son, mother, nid });
      }
    });
    afterAll(async () => h?.close());

    it('lists open review items oldest first, in pages, with both records’ identifiers', async () => {
      const first = await h.call('GET', '/identity/review?_count=1');
      expect(first.status).toBe(200);
      expect(first.json.items).toHaveLength(1);
      const [item] = first.json.items;
      expect(item).toMatchObject({
        grade: 'possible',
        left: { patient: `Patient/${pairs[0]!.mother.id}` },
        right: { patient: `Patient/${pairs[0]!.son.id}` },
      });
      expect(typeof item.score).toBe('number');
      expect(item.fields.birthDate).toBeDefined();
      expect(item.left.identifiers).toContainEqual({ system: NATIONAL_ID_SYSTEM, value: pairs[0]!.nid });
      expect(item.right.identifiers).toContainEqual(
        expect.objectContaining({
          system: `https://county-hie.org/fhir/sid/source-id/${CPH}`,
          value: 'son-a',
        }),
      );
      expect(first.json.next).toMatch(/^\/identity\/review\?/);

      const second = await h.call('GET', first.json.next);
      expect(second.json.items.map((i: any) => i.left.patient)).toEqual([`Patient/${pairs[1]!.mother.id}`]);
      expect(second.json.next).toBeUndefined();

      expect((await h.call('GET', '/identity/review?_count=0')).status).toBe(400);
      expect((await h.call('GET', '/identity/review?_cursor=bogus')).status).toBe(400);
    });

    it('is for administrators only', async () => {
      const token = await h.gw.institutionToken(CPH);
      const res = await h.call('GET', '/identity/review', undefined, token);
      expect(res.status).toBe(403);
      expect(res.json.resourceType).toBe('OperationOutcome');
      expect(
        (await h.call('POST', `/identity/links`, { source: 'Patient/a', target: 'Patient/b' }, token)).status,
      ).toBe(403);
      const anonymous = await fetch(`${h.url}/identity/review`);
      expect(anonymous.status).toBe(401);
    });

    it('accepts and rejects items, storing who decided; a closed item answers 409', async () => {
      const items = (await h.call('GET', '/identity/review')).json.items as any[];
      const a = items.find((i) => i.left.patient === `Patient/${pairs[0]!.mother.id}`);
      const b = items.find((i) => i.left.patient === `Patient/${pairs[1]!.mother.id}`);

      const accepted = await h.call('POST', `/identity/review/${a.id}/accept`);
      expect(accepted.status, JSON.stringify(accepted.json)).toBe(200);
      expect(accepted.json).toMatchObject({
        state: 'accepted',
        patient: a.left.patient,
        person: h.personOf(pairs[0]!.son),
      });
      const rejected = await h.call('POST', `/identity/review/${b.id}/reject`);
      expect(rejected.status).toBe(200);
      expect(rejected.json.person).toBe(h.personOf(pairs[1]!.mother));

      const { rows } = await h.gw.database.db.query(
        `SELECT id::text, state, decided_by FROM identity_review WHERE id = ANY($1::uuid[]) ORDER BY created_at`,
        [[a.id, b.id]],
      );
      expect(rows).toEqual([
        { id: a.id, state: 'accepted', decided_by: 'hie-admin' },
        { id: b.id, state: 'rejected', decided_by: 'hie-admin' },
      ]);
      expect((await h.call('GET', '/identity/review')).json.items).toEqual([]);

      const again = await h.call('POST', `/identity/review/${a.id}/reject`);
      expect(again.status).toBe(409);
      expect(again.json.issue[0].code).toBe('conflict');
      expect((await h.call('POST', '/identity/review/not-a-uuid/accept')).status).toBe(404);
    });

    it('links and unlinks records by hand', async () => {
      const x = await h.send(DCCHC, { id: 'x-1', name: '赵丽', birth: '1985-03-03', sex: 'female' });
      const y = await h.send(CGCHC, { id: 'y-1', name: '赵莉', birth: '1985-03-30', sex: 'female' });
      expect(h.personOf(x)).not.toBe(h.personOf(y));

      const linked = await h.call('POST', '/identity/links', {
        source: `Patient/${x.id}`,
        target: `Patient/${y.id}`,
      });
      expect(linked.status, JSON.stringify(linked.json)).toBe(200);
      expect(linked.json).toMatchObject({
        patient: `Patient/${x.id}`,
        person: h.personOf(y),
        linkState: 'manual',
      });
      expect(h.personOf(await h.read(`Patient/${x.id}`))).toBe(h.personOf(y));

      const unlinked = await h.call('DELETE', `/identity/links/${x.id}`);
      expect(unlinked.status).toBe(200);
      expect(unlinked.json.person).not.toBe(h.personOf(y));
      expect(h.personOf(await h.read(`Patient/${x.id}`))).toBe(unlinked.json.person);

      const bad = [
        { source: `Patient/${x.id}` },
        { source: `Patient/${x.id}`, target: `Patient/${y.id}`, person: h.personOf(y) },
        { source: 42, target: `Patient/${y.id}` },
        { source: `Patient/${x.id}`, target: `Patient/${x.id}` },
      ];
      for (const body of bad) {
        const res = await h.call('POST', '/identity/links', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.json.resourceType).toBe('OperationOutcome');
      }
      expect((await h.call('DELETE', `/identity/links/${x.id}`)).status).toBe(409);
      expect((await h.call('DELETE', '/identity/links/unknown-id')).status).toBe(404);
    });
  },
);
