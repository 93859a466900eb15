import type { Parameters, Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { issueToken, workerClaims } from '../../../src/auth/issue-token.ts';
import { loadOrCreateSigningKey } from '../../../src/auth/signing-key.ts';
import { fhirMergeCompleter } from '../../../src/identity/merge/fhir-merge-client.ts';
import { startIdentityHarness, type IdentityHarness } from '../workflow/identity-harness.ts';

const BASE = 'https://county-hie.org/fhir';
const CPH = 'county-peoples-hospital';
const CGCHC = 'chengguan-community-health-centre';

const params = (...parameter: Parameters['parameter'] & object): Parameters => ({
  resourceType: 'Parameters',
  parameter,
});
const ref = (name: string, reference: string) => ({ name, valueReference: { reference } });
const preview = { name: 'preview', valueBoolean: true };
const mergeOf = (source: string, target: string, ...more: object[]) =>
  params(ref('source-patient', source), ref('target-patient', target), ...(more as []));

/** A resource as stored, without what every write changes (version and time). */
const content = (r: any) => {
  const { versionId: _v, lastUpdated: _l, ...meta } = r.meta ?? {};
  return { ...r, meta };
};

describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'Patient/$merge and $unmerge on $name',
  (server) => {
    let h: IdentityHarness;
    let n = 0;

    beforeAll(async () => {
      h = await startIdentityHarness(server, inject('redisUrl'));
    });
    afterAll(async () => h?.close());

    const db = () => h.gw.database.db;
    const read = async (r: string) => {
      const [type, id] = r.split('/');
      return JSON.parse((await h.gw.repo.read(type!, id!)).json!);
    };
    /** Everything a merge may touch: every resource's version, identity rows, recorded merges. */
    const digest = async () => {
      const r = await db().query(
        `SELECT resource_type, id, version_id FROM resource WHERE resource_type <> 'AuditEvent' ORDER BY 1, 2`,
      );
      const i = await db().query(
        `SELECT patient_ref, person_id, state, active FROM identity_record ORDER BY 1`,
      );
      const m = await db().query(`SELECT id, state FROM identity_merge ORDER BY 1`);
      return JSON.stringify([r.rows, i.rows, m.rows]);
    };
    const identityRow = async (r: string) =>
      (await db().query(`SELECT person_id, state, active FROM identity_record WHERE patient_ref = $1`, [r]))
        .rows[0];
    const stamped = (institution: string) => ({ source: `${BASE}/institution/${institution}#test` });

    /** Two records of the county hospital (two persons) and what points at the first. */
    async function setUp() {
      n += 1;
      const source = await h.send(CPH, {
        id: `dup-${n}`,
        name: '赵立新',
        birth: `1960-03-${String(n + 10)}`,
        sex: 'male',
      });
      const target = await h.send(CPH, {
        id: `main-${n}`,
        name: '钱卫东',
        birth: `1971-05-${String(n + 10)}`,
        sex: 'male',
      });
      const other = await h.send(CGCHC, { id: `c-${n}`, name: '孙海燕', birth: '1982-07-07', sex: 'female' });
      const encounter = await h.gw.repo.create({
        resourceType: 'Encounter',
        meta: stamped(CPH),
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${source.id}` },
      });
      const condition = await h.gw.repo.create({
        resourceType: 'Condition',
        meta: stamped(CPH),
        subject: { reference: `${h.gw.repo.baseUrl}/Patient/${source.id}` },
        encounter: { reference: `Encounter/${encounter.stored.id}` },
        code: { text: '高血压' },
      });
      // The community centre's resource naming the hospital's record: never re-pointed by a merge.
      const foreign = await h.gw.repo.create({
        resourceType: 'Observation',
        meta: stamped(CGCHC),
        status: 'final',
        code: { text: 'BP' },
        subject: { reference: `Patient/${source.id}` },
      });
      return {
        source: `Patient/${source.id}`,
        target: `Patient/${target.id}`,
        other: `Patient/${other.id}`,
        encounter: `Encounter/${encounter.stored.id}`,
        condition: `Condition/${condition.stored.id}`,
        foreign: `Observation/${foreign.stored.id}`,
      };
    }

    it('merges a record into another of its institution, and $unmerge restores both', async () => {
      const s = await setUp();
      const sourcePerson = h.personOf(await h.read(s.source))!;
      const refs = [s.source, s.target, s.encounter, s.condition, s.foreign, sourcePerson];
      const before = await Promise.all(refs.map(read));
      const identityBefore = await identityRow(s.source);

      const merged = await h.call('POST', '/fhir/Patient/$merge', mergeOf(s.source, s.target));
      expect(merged.status, JSON.stringify(merged.json)).toBe(200);
      const out = Object.fromEntries(merged.json.parameter.map((p: any) => [p.name, p.resource]));
      expect(out.input).toEqual(mergeOf(s.source, s.target));
      expect(out.result.id).toBe(s.target.split('/')[1]);
      expect(out.result.link).toContainEqual({ other: { reference: s.source }, type: 'replaces' });
      expect(out.outcome.issue.map((i: any) => i.diagnostics).join('\n')).toContain(s.foreign);

      const source = await read(s.source);
      expect(source.active).toBe(false);
      expect(source.link).toContainEqual({ other: { reference: s.target }, type: 'replaced-by' });
      expect((await read(s.encounter)).subject.reference).toBe(s.target);
      expect((await read(s.condition)).subject.reference).toBe(`${h.gw.repo.baseUrl}/${s.target}`);
      expect(content(await read(s.foreign))).toEqual(content(before[4]));
      expect(await identityRow(s.source)).toMatchObject({ active: false });
      // The source left its person: the golden record no longer names it.
      const golden = await read(sourcePerson);
      expect((golden.link ?? []).map((l: any) => l.other.reference)).not.toContain(s.source);
      // A search by subject finds the encounter under the survivor now (the index followed).
      const found = await h.call('GET', `/fhir/Encounter?subject=${s.target}`);
      expect(found.json.entry.map((e: any) => e.resource.id)).toContain(s.encounter.split('/')[1]);

      const undone = await h.call('POST', '/fhir/Patient/$unmerge', params(ref('source-patient', s.source)));
      expect(undone.status, JSON.stringify(undone.json)).toBe(200);
      const after = await Promise.all(refs.map(read));
      after.forEach((r, i) => expect(content(r), refs[i]).toEqual(content(before[i])));
      expect(await identityRow(s.source)).toEqual(identityBefore);

      // Undone once: a second $unmerge has nothing to undo; the pair can be merged again.
      expect(
        (await h.call('POST', '/fhir/Patient/$unmerge', params(ref('source-patient', s.source)))).status,
      ).toBe(409);
      expect((await h.call('POST', '/fhir/Patient/$merge', mergeOf(s.source, s.target))).status).toBe(200);
    });

    it('previews a merge and an unmerge without changing anything', async () => {
      const s = await setUp();
      const was = await digest();
      const res = await h.call('POST', '/fhir/Patient/$merge', mergeOf(s.source, s.target, preview));
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      const out = Object.fromEntries(res.json.parameter.map((p: any) => [p.name, p.resource]));
      expect(out.result.link).toContainEqual({ other: { reference: s.source }, type: 'replaces' });
      const said = out.outcome.issue.map((i: any) => i.diagnostics).join('\n');
      expect(said).toContain('Preview');
      expect(said).toContain(s.encounter);
      expect(await digest()).toBe(was);

      expect((await h.call('POST', '/fhir/Patient/$merge', mergeOf(s.source, s.target))).status).toBe(200);
      const merged = await digest();
      const p = await h.call(
        'POST',
        '/fhir/Patient/$unmerge',
        params(ref('source-patient', s.source), preview),
      );
      expect(p.status, JSON.stringify(p.json)).toBe(200);
      expect(await digest()).toBe(merged);
    });

    it('refuses bad merges with an OperationOutcome and changes nothing', async () => {
      const s = await setUp();
      const third = await h.send(CPH, { id: `third-${n}`, name: '李明', birth: '1990-01-01', sex: 'male' });
      const golden = h.personOf(await h.read(s.target))!;
      expect((await h.call('POST', '/fhir/Patient/$merge', mergeOf(s.source, s.target))).status).toBe(200);
      const was = await digest();
      const token = await h.gw.institutionToken(CPH);
      const cases: [string, Parameters, number, string?][] = [
        ['itself', mergeOf(s.target, s.target), 400],
        ['into a merged record', mergeOf(`Patient/${third.id}`, s.source), 409],
        ['a merged record again elsewhere', mergeOf(s.source, `Patient/${third.id}`), 409],
        ['unknown source', mergeOf('Patient/no-such-record', s.target), 404],
        ['unknown target', mergeOf(s.target, 'Patient/no-such-record'), 404],
        ['two institutions', mergeOf(s.other, `Patient/${third.id}`), 422],
        ['a golden record', mergeOf(golden, `Patient/${third.id}`), 400],
        ['no target', params(ref('source-patient', s.source)), 400],
        ['not admin', mergeOf(`Patient/${third.id}`, s.target), 403, token],
      ];
      for (const [what, body, status, as] of cases) {
        const res = await h.call('POST', '/fhir/Patient/$merge', body, as);
        expect(res.status, `${what}: ${JSON.stringify(res.json)}`).toBe(status);
        expect(res.json.resourceType, what).toBe('OperationOutcome');
        expect(await digest(), what).toBe(was);
      }
      const twoInstitutions = await h.call('POST', '/fhir/Patient/$merge', mergeOf(s.other, s.target));
      expect(twoInstitutions.json.issue[0].diagnostics).toMatch(/one institution.*identity links/s);
      // A repeat of the same merge is answered as done, and changes nothing either.
      const again = await h.call('POST', '/fhir/Patient/$merge', mergeOf(s.source, s.target));
      expect(again.status).toBe(200);
      expect(await digest()).toBe(was);
      for (const body of [
        params(ref('source-patient', s.target)),
        params(ref('source-patient', 'Patient/nope')),
      ]) {
        const res = await h.call('POST', '/fhir/Patient/$unmerge', body);
        expect([404, 409]).toContain(res.status);
        expect(await digest()).toBe(was);
      }
    });

    it('finds records by identifier; an identifier naming no record is a 404', async () => {
      const s = await setUp();
      const sourceId = { system: `${BASE}/sid/source-id/${CPH}`, value: `dup-${n}` };
      const res = await h.call(
        'POST',
        '/fhir/Patient/$merge',
        params(
          { name: 'source-patient-identifier', valueIdentifier: sourceId },
          ref('target-patient', s.target),
          preview,
        ),
      );
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.parameter[2].resource.link).toContainEqual({
        other: { reference: s.source },
        type: 'replaces',
      });
      const none = await h.call(
        'POST',
        '/fhir/Patient/$merge',
        params(
          { name: 'source-patient-identifier', valueIdentifier: { ...sourceId, value: 'nobody' } },
          ref('target-patient', s.target),
        ),
      );
      expect(none.status).toBe(404);
    });

    it('finishes an ADT A40 merge as $merge does, and $unmerge gives the record back', async () => {
      const mrn = (m: string) => `${BASE}/sid/mrn/${CPH}|${m}`;
      const adt = (control: string, lines: string[]) =>
        [
          `MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261102083000||${lines[0]}|${control}|P|2.5.1`,
          ...lines.slice(1),
        ].join('\r');
      const sendHl7 = async (body: string) => {
        const res = await fetch(`${h.gw.publicUrl}/ingest/hl7v2`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${await h.gw.institutionToken(CPH)}`,
            'Content-Type': 'application/hl7-v2',
          },
          body,
        });
        expect(res.status, await res.clone().text()).toBeLessThan(300);
        const m = await h.gw.settled(res.headers.get('location')!.split('/').pop()!);
        expect(m?.state, JSON.stringify(m?.outcome)).toBe('stored');
      };
      const byMrn = async (m: string) => {
        const b = await h.call('GET', `/fhir/Patient?identifier=${encodeURIComponent(mrn(m))}`);
        return b.json.entry[0].resource as Patient;
      };
      await sendHl7(
        adt('A1', [
          'ADT^A04^ADT_A01',
          'EVN|A04|20261101082500',
          'PID|1||MA40^^^CPH^MR||周建华||19580909|M',
          'PV1|1|O|MED^1^1||||||||||||||||VA40|||||||||||||||||||||||||20261101080000',
        ]),
      );
      await sendHl7(
        adt('A2', ['ADT^A04^ADT_A01', 'EVN|A04|20261101082600', 'PID|1||MB40^^^CPH^MR||周建华||19580909|M']),
      );
      const dup = await byMrn('MA40');
      const main = await byMrn('MB40');
      const dupRef = `Patient/${dup.id}`;
      const mainRef = `Patient/${main.id}`;
      const dupBefore = await read(dupRef);
      const encounters = await h.call('GET', `/fhir/Encounter?subject=${dupRef}`);
      const encounter = `Encounter/${encounters.json.entry[0].resource.id}`;

      await sendHl7(
        adt('A40', [
          'ADT^A40^ADT_A39',
          'EVN|A40|20261102082500',
          'PID|1||MB40^^^CPH^MR||周建华||19580909|M',
          'MRG|MA40^^^CPH^MR',
        ]),
      );
      // The identity stage took the merged record out of its person.
      expect(await identityRow(dupRef)).toMatchObject({ active: false });

      // What the worker does once wired with the completer: $merge with its own token.
      const signingKey = await loadOrCreateSigningKey(h.gw.config.dataDir);
      const workerToken = await issueToken(signingKey, workerClaims(h.gw.config.publicUrl), 600);
      const completer = fhirMergeCompleter({ fhirBaseUrl: `${h.url}/fhir`, token: async () => workerToken });
      await completer.complete(dupRef, mainRef);
      const merged = await read(dupRef);
      expect(merged.active).toBe(false);
      expect(merged.link).toContainEqual({ other: { reference: mainRef }, type: 'replaced-by' });
      expect((await read(mainRef)).link).toContainEqual({ other: { reference: dupRef }, type: 'replaces' });
      expect((await read(encounter)).subject.reference).toBe(mainRef);
      const row = (
        await db().query(`SELECT origin, state FROM identity_merge WHERE source_ref = $1`, [dupRef])
      ).rows;
      expect(row).toEqual([{ origin: 'adt-a40', state: 'merged' }]);
      // Completing twice (a re-sent A40) changes nothing; the worker may not merge on its own.
      const was = await digest();
      await completer.complete(dupRef, mainRef);
      expect(await digest()).toBe(was);
      const other = await h.send(CPH, { id: `a40-other`, name: '吴芳', birth: '1999-09-09', sex: 'female' });
      await expect(completer.complete(`Patient/${other.id}`, mainRef)).rejects.toMatchObject({ status: 403 });

      const undone = await h.call('POST', '/fhir/Patient/$unmerge', params(ref('source-patient', dupRef)));
      expect(undone.status, JSON.stringify(undone.json)).toBe(200);
      expect(content(await read(dupRef))).toEqual(content(dupBefore));
      expect((await read(encounter)).subject.reference).toBe(dupRef);
      expect(await identityRow(dupRef)).toMatchObject({ active: true });
    });
  },
);
