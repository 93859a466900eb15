import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectPractitioners } from '../../src/institutions/practitioner-resources.ts';
import { loadPractitioners, type DirectoryPractitioner } from '../../src/institutions/practitioners.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

const BASE = 'https://county-hie.org/fhir';
const QT = 'qiaotou-township-health-centre';

/**
 * The directory against the real repository: the test gateway projects it at start as `npm start`
 * does, and a family-doctor contract sent through the gateway meets it on one Practitioner.
 */
describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'the practitioner directory on $name',
  (server) => {
    let gw: TestGateway;
    let directory: DirectoryPractitioner[];
    const get = async (path: string) => {
      const res = await fetch(`${gw.fhirUrl}/${path}`, {
        headers: { Authorization: `Bearer ${gw.adminToken}` },
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const postCsv = async (csv: string) =>
      fetch(`${gw.publicUrl}/ingest/csv/family-doctor-contracts`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${await gw.institutionToken(QT)}`,
          'Content-Type': 'text/csv; charset=utf-8',
        },
        body: csv,
      });

    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
      directory = await loadPractitioners();
    });
    afterAll(async () => gw?.close());

    it('holds every directory practitioner as a Practitioner and one PractitionerRole per role', async () => {
      for (const p of directory) {
        const { status, body } = await get(`Practitioner/${p.id}`);
        expect(status, p.id).toBe(200);
        expect(body.name[0].text).toBe(p.name.zh);
        expect(body.gender).toBe(p.gender);
        expect(body.identifier).toEqual([
          { use: 'usual', system: `${BASE}/sid/source-id/${p.institution}`, value: `doctor-${p.staffNo}` },
        ]);
      }
      const wang = directory.find((p) => p.id === 'qt-wang-jianguo')!;
      const roles = await get(`PractitionerRole?practitioner=Practitioner/${wang.id}`);
      expect(roles.body.entry.map((e: any) => e.resource.id).sort()).toEqual(
        wang.roles.map((r) => `${wang.id}-${r}`).sort(),
      );
      expect(roles.body.entry[0].resource.organization).toEqual({ reference: `Organization/${QT}` });
      // The role is searchable by its institution like any reference.
      const atQt = await get(`PractitionerRole?organization=Organization/${QT}&_count=100`);
      const expected = directory
        .filter((p) => p.institution === QT)
        .flatMap((p) => p.roles.map((r) => `${p.id}-${r}`));
      expect(atQt.body.entry.map((e: any) => e.resource.id).sort()).toEqual(expected.sort());
    });

    it('projecting again writes nothing: no new versions', async () => {
      const again = await projectPractitioners(gw.registry, gw.repo, BASE);
      expect(again.written).toEqual([]);
      expect(again.skipped).toEqual([]);
      expect(again.unchanged).toContain('Practitioner/qt-wang-jianguo');
      const { body } = await get('Practitioner/qt-wang-jianguo');
      expect(body.meta.versionId).toBe('1');
    });

    it('a contract row points careManager and the CareTeam member at the directory Practitioner, leaving it as it was', async () => {
      const sample = readFileSync(
        new URL('../../mappings/samples/family-doctor-contracts.csv', import.meta.url),
        'utf8',
      );
      const header = sample.split('\n')[0]!;
      const row = sample.split('\n')[1]!; // QT2026000118, doctor D017 王建国, team T01
      const res = await postCsv(`${header}\n${row}\n`);
      expect(res.status).toBe(202);
      const id = res.headers.get('location')!.split('/').pop()!;
      expect((await gw.settled(id))?.state).toBe('stored');

      const contract = await get(
        `EpisodeOfCare?identifier=${encodeURIComponent(`${BASE}/sid/source-id/${QT}|contract-QT2026000118`)}`,
      );
      expect(contract.body.entry).toHaveLength(1);
      const episode = contract.body.entry[0].resource;
      expect(episode.careManager).toEqual({ reference: 'Practitioner/qt-wang-jianguo', display: '王建国' });
      const team = await get(episode.team[0].reference);
      expect(team.body.participant[0].member).toEqual({
        reference: 'Practitioner/qt-wang-jianguo',
        display: '王建国',
      });

      // The directory's content is untouched: same version, English name and gender still there.
      const doctor = await get('Practitioner/qt-wang-jianguo');
      expect(doctor.body.meta.versionId).toBe('1');
      expect(doctor.body.name).toEqual([{ use: 'official', text: '王建国' }, { text: 'Wang Jianguo' }]);
      expect(doctor.body.gender).toBe('male');
      // And there is still exactly one Practitioner with that staff number.
      const found = await get(
        `Practitioner?identifier=${encodeURIComponent(`${BASE}/sid/source-id/${QT}|doctor-D017`)}`,
      );
      expect(found.body.entry.map((e: any) => e.resource.id)).toEqual(['qt-wang-jianguo']);
    });

    it('a contract naming a staff number the directory does not know fails, saying so', async () => {
      const sample = readFileSync(
        new URL('../../mappings/samples/family-doctor-contracts.csv', import.meta.url),
        'utf8',
      );
      const [header, first] = sample.split('\n');
      const row = first!.replace('QT2026000118', 'QT2026009999').replace(',D017,', ',D999,');
      const res = await postCsv(`${header}\n${row}\n`);
      expect(res.status).toBe(202);
      const m = await gw.settled(res.headers.get('location')!.split('/').pop()!);
      expect(m?.state).toBe('failed');
      const diagnostics = (m?.outcome?.issue ?? []).map((i) => i.diagnostics).join(' ');
      expect(diagnostics).toMatch(
        /Conditional reference "Practitioner\?identifier=.*\|doctor-D999" matches no resource/,
      );
    });
  },
);
