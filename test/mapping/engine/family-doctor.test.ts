import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, CareTeam, EpisodeOfCare, Patient } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringifyFhirJson } from '../../../src/kernel/fhir-json.ts';
import {
  DEFAULT_MAPPINGS_DIR,
  loadMappings,
  type CompiledMapping,
} from '../../../src/mapping/engine/index.ts';
import { MappingError, type MappedMessage, type MappingContext } from '../../../src/mapping/types.ts';
import { parseCsv, type CsvRow } from '../../../src/parse/csv/parse-csv.ts';
import { BASE, INSTITUTION, structuralErrors } from '../hl7v2-files/support.ts';

const QT = { ...INSTITUTION, id: 'qiaotou-township-health-centre', timezone: '+08:00' };
const CTX: MappingContext = { institution: QT, canonicalBase: BASE, archiveId: 'arch-fd-0001' };
const MRN = `${BASE}/sid/mrn/qiaotou-township-health-centre`;
const SRC = `${BASE}/sid/source-id/qiaotou-township-health-centre`;
const ORG = 'Organization/qiaotou-township-health-centre';
const EPISODE_TYPE = `${BASE}/CodeSystem/episode-type`;
/** The directory's Practitioner with this staff number, as a conditional reference (version 2). */
const DOCTOR = (staffNo: string) => `Practitioner?identifier=${SRC}|doctor-${staffNo}`;

let mapping: CompiledMapping;
beforeAll(async () => {
  mapping = (await loadMappings()).byId('family-doctor-contracts')!;
});

const rows = () =>
  parseCsv(readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples', 'family-doctor-contracts.csv')), {
    charset: 'UTF-8',
  }).rows;

type Entry<T> = { fullUrl: string; resource: T; request: { method: string; url: string } };
const only = <T>(b: Bundle, type: string): Entry<T> => {
  const found = (b.entry ?? []).filter((e) => e.resource?.resourceType === type);
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0] as unknown as Entry<T>;
};
const parts = (msg: MappedMessage) => ({
  patient: only<Patient>(msg.bundle, 'Patient'),
  episode: only<EpisodeOfCare>(msg.bundle, 'EpisodeOfCare'),
  team: only<CareTeam>(msg.bundle, 'CareTeam'),
});
const withCells = (row: CsvRow, cells: Record<string, string>): CsvRow => ({
  ...row,
  cells: { ...row.cells, ...cells },
});
const mappingError = (row: CsvRow): MappingError => {
  try {
    mapping.map(row, CTX);
  } catch (e) {
    expect(e).toBeInstanceOf(MappingError);
    return e as MappingError;
  }
  throw new Error('the row mapped without error');
};

describe('family-doctor-contracts (CSV)', () => {
  it('is selected for the feed and is the shipped default', async () => {
    const set = await loadMappings();
    expect(
      set.select({
        institution: 'qiaotou-township-health-centre',
        format: 'csv',
        feed: 'family-doctor-contracts',
      })?.id,
    ).toBe('family-doctor-contracts');
    expect(mapping.version).toBe('2');
  });

  it('maps every sample row; every resource passes the structural validator', () => {
    const all = rows();
    expect(all).toHaveLength(5);
    for (const row of all) {
      const msg = mapping.map(row, CTX);
      expect(structuralErrors(msg.bundle), `line ${row.line}`).toEqual([]);
      // No Practitioner of its own: the doctor is the directory's (registry/practitioners.json).
      expect(msg.bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
        'Patient',
        'EpisodeOfCare',
        'CareTeam',
      ]);
      expect(msg.bundle.entry?.every((e) => e.request?.method === 'PUT')).toBe(true);
    }
  });

  it('an active contract: identifiers, references between the four resources, type, status, period', () => {
    const msg = mapping.map(rows()[0]!, CTX);
    expect(msg.type).toBe('csv:family-doctor-contracts');
    expect(msg.controlId).toBe('QT2026000118');
    expect(msg.eventTime).toBe('2026-01-15');
    expect(msg.issues).toEqual([]);
    const { patient, episode, team } = parts(msg);

    // Patient: the institution's MRN from 居民编号, a verified national ID, the full name only.
    expect(patient.request.url).toBe(`Patient?identifier=${encodeURIComponent(MRN)}|JM0012031`);
    expect(patient.resource.identifier).toEqual([
      {
        use: 'usual',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        system: MRN,
        value: 'JM0012031',
      },
      {
        use: 'official',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NI' }] },
        system: 'urn:oid:2.16.156.10011.1.3',
        value: '330522194805203623',
      },
    ]);
    expect(patient.resource.name).toEqual([{ text: '欧阳秀英' }]);
    expect(patient.resource.gender).toBe('female');
    expect(patient.resource.birthDate).toBe('1948-05-20');
    expect(patient.resource.telecom).toEqual([{ system: 'phone', value: '13857201234' }]);
    expect(patient.resource.managingOrganization).toEqual({ reference: ORG });

    // EpisodeOfCare as CONTRACTS.md "Access, consent, audit" shapes the contract.
    expect(episode.request.url).toBe(
      `EpisodeOfCare?identifier=${encodeURIComponent(SRC)}|contract-QT2026000118`,
    );
    expect(episode.resource.identifier).toEqual([
      { use: 'usual', system: SRC, value: 'contract-QT2026000118' },
    ]);
    expect(episode.resource.status).toBe('active');
    expect(episode.resource.type?.[0]?.coding).toEqual([
      { system: EPISODE_TYPE, code: 'family-doctor-contract' },
    ]);
    expect(episode.resource.type?.[1]).toEqual({ text: '基础包+高血压管理包' });
    expect(episode.resource.patient).toEqual({ reference: patient.fullUrl });
    expect(episode.resource.managingOrganization).toEqual({ reference: ORG });
    // The doctor by the staff number (工号) within the institution, resolved by the repository.
    expect(episode.resource.careManager).toEqual({ reference: DOCTOR('D017'), display: '王建国' });
    expect(episode.resource.period).toEqual({ start: '2026-01-15', end: '2027-01-14' });
    expect(episode.resource.team).toEqual([{ reference: team.fullUrl }]);

    // CareTeam: the patient, the institution, the doctor as 家庭医生.
    expect(team.request.url).toBe(`CareTeam?identifier=${encodeURIComponent(SRC)}|team-T01-QT2026000118`);
    expect(team.resource.identifier).toEqual([{ use: 'usual', system: SRC, value: 'team-T01-QT2026000118' }]);
    expect(team.resource.status).toBe('active');
    expect(team.resource.subject).toEqual({ reference: patient.fullUrl });
    expect(team.resource.managingOrganization).toEqual([{ reference: ORG }]);
    expect(team.resource.participant).toEqual([
      {
        role: [{ text: '家庭医生' }],
        member: { reference: DOCTOR('D017'), display: '王建国' },
        onBehalfOf: { reference: ORG },
      },
    ]);
    expect(team.resource.period).toEqual(episode.resource.period);
    expect(team.resource.name).toBe('家庭医生团队 T01');

    // Every fullUrl is a urn:uuid, distinct, and every reference inside the Bundle resolves.
    const urls = (msg.bundle.entry ?? []).map((e) => e.fullUrl!);
    expect(new Set(urls).size).toBe(3);
    for (const u of urls) expect(u).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const refs = [...stringifyFhirJson(msg.bundle).matchAll(/"reference":"(urn:uuid:[^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(refs.length).toBe(3); // episode: patient, team; team: subject
    for (const r of refs) expect(urls).toContain(r);

    for (const e of msg.bundle.entry ?? []) {
      expect(e.resource?.meta?.source).toBe(
        `${BASE}/institution/qiaotou-township-health-centre#arch-fd-0001`,
      );
      expect(e.resource?.meta?.tag).toEqual([
        { system: `${BASE}/CodeSystem/mapping`, code: 'family-doctor-contracts@2' },
      ]);
    }
  });

  it('an ended contract (已解约): finished, its period ends on 解约日期, its team inactive; a bad national ID is kept unverified', () => {
    const msg = mapping.map(rows()[1]!, CTX);
    const { patient, episode, team } = parts(msg);
    expect(episode.resource.status).toBe('finished');
    expect(episode.resource.period).toEqual({ start: '2025-03-01', end: '2025-09-30' });
    expect(team.resource.status).toBe('inactive');
    expect(team.resource.period).toEqual({ start: '2025-03-01', end: '2025-09-30' });
    // The same doctor as line 2: the same Practitioner.
    expect(episode.resource.careManager?.reference).toBe(DOCTOR('D017'));
    expect(patient.resource.birthDate).toBe('1952-08-11');
    expect(patient.resource.telecom).toEqual([{ system: 'phone', value: '0572-6123456' }]);
    expect(patient.resource.identifier?.[1]).toEqual({
      use: 'official',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NI' }] },
      system: 'urn:oid:2.16.156.10011.1.3',
      value: '330522195208111517',
      extension: [{ url: `${BASE}/StructureDefinition/identifier-verification`, valueCode: 'unverified' }],
    });
    expect(msg.issues).toEqual([
      expect.objectContaining({
        severity: 'warning',
        code: 'business-rule',
        expression: ['line 3, column "身份证号"'],
      }),
    ]);
  });

  it('a pending contract, a row without national ID or phone, dates written 2026年2月3日, an expired one', () => {
    const [, , pending, chineseDates, expired] = rows();
    const p = parts(mapping.map(pending!, CTX));
    expect(p.episode.resource.status).toBe('planned');
    expect(p.team.resource.status).toBe('proposed');
    expect(p.episode.resource.type).toHaveLength(1); // no 服务包 yet
    expect(p.patient.resource.telecom).toBeUndefined();

    const c = parts(mapping.map(chineseDates!, CTX));
    expect(c.patient.resource.identifier).toHaveLength(1); // the MRN only
    expect(c.patient.resource.birthDate).toBe('1973-09-17');
    expect(c.episode.resource.period).toEqual({ start: '2026-02-03', end: '2027-02-02' });
    // Two contracts of one team and doctor: one Practitioner, one CareTeam per contract.
    expect(c.episode.resource.careManager?.reference).toBe(DOCTOR('D022'));
    expect(p.episode.resource.careManager?.reference).toBe(DOCTOR('D022'));
    expect(c.team.request.url).not.toBe(p.team.request.url);

    const x = parts(mapping.map(expired!, CTX));
    expect(x.episode.resource.status).toBe('finished');
    expect(x.episode.resource.period).toEqual({ start: '2024-12-01', end: '2025-11-30' });
    expect(x.team.resource.status).toBe('inactive');
  });

  it('maps 签约状态 to EpisodeOfCare.status and CareTeam.status', () => {
    const expected: Record<string, [EpisodeOfCare['status'], CareTeam['status']]> = {
      有效: ['active', 'active'],
      履约中: ['active', 'active'],
      待签: ['planned', 'proposed'],
      待审核: ['waitlist', 'proposed'],
      暂停: ['onhold', 'suspended'],
      已解约: ['finished', 'inactive'],
      已到期: ['finished', 'inactive'],
      已取消: ['cancelled', 'inactive'],
      作废: ['entered-in-error', 'entered-in-error'],
    };
    const row = rows()[0]!;
    for (const [source, [episodeStatus, teamStatus]] of Object.entries(expected)) {
      const msg = mapping.map(withCells(row, { 签约状态: ` ${source} ` }), CTX);
      expect(structuralErrors(msg.bundle)).toEqual([]);
      const { episode, team } = parts(msg);
      expect([episode.resource.status, team.resource.status], source).toEqual([episodeStatus, teamStatus]);
    }
  });

  it('an unknown or empty 签约状态 fails the row at its line and column', () => {
    const row = rows()[0]!;
    const unknown = mappingError(withCells(row, { 签约状态: '已续签' }));
    expect(unknown.problems.map((p) => p.expression)).toEqual([
      'line 2, column "签约状态"',
      'line 2, column "签约状态"',
    ]);
    expect(unknown.problems[0]!.text).toMatch(/contract\.status: "已续签" is not one of 有效, 履约中, 待签/);
    const empty = mappingError(withCells(row, { 签约状态: '' }));
    expect(empty.problems.map((p) => [p.severity, p.expression, p.text])).toEqual([
      ['error', 'line 2, column "签约状态"', 'contract.status: a required value is missing'],
      ['error', 'line 2, column "签约状态"', 'careTeam.status: a required value is missing'],
    ]);
  });

  it('a row missing 签约医生工号 fails with its line and column, never a partial contract', () => {
    const row = rows()[3]!; // line 5
    const err = mappingError(withCells(row, { 签约医生工号: '  ' }));
    expect(err.kind).toBe('error');
    expect(err.problems).toEqual([
      {
        severity: 'error',
        text: 'contract.careManager: a required value is missing',
        expression: 'line 5, column "签约医生工号"',
      },
    ]);
  });

  it('a row missing 团队编号 or 签约日期 fails with its line and column', () => {
    const row = rows()[0]!;
    expect(mappingError(withCells(row, { 团队编号: '' })).problems).toEqual([
      {
        severity: 'error',
        text: 'contract.team[0]: a required value is missing',
        expression: 'line 2, column "团队编号"',
      },
    ]);
    expect(mappingError(withCells(row, { 签约日期: '' })).problems.map((p) => p.expression)).toContain(
      'line 2, column "签约日期"',
    );
    expect(mappingError(withCells(row, { 到期日期: '2027/02/30' })).message).toMatch(
      /not a real calendar date/,
    );
  });

  it('an export without the 解约日期 column still maps: the period ends on 到期日期', () => {
    const row = rows()[1]!;
    const cells = { ...row.cells };
    delete cells['解约日期'];
    const msg = mapping.map({ ...row, cells }, CTX);
    expect(structuralErrors(msg.bundle)).toEqual([]);
    expect(parts(msg).episode.resource.period).toEqual({ start: '2025-03-01', end: '2026-02-28' });
  });

  it('is deterministic; another archive id keeps the same conditional keys', () => {
    const a = mapping.map(rows()[0]!, CTX);
    expect(stringifyFhirJson(mapping.map(rows()[0]!, CTX))).toBe(stringifyFhirJson(a));
    const b = mapping.map(rows()[0]!, { ...CTX, archiveId: 'arch-fd-0002' });
    expect(b.bundle.entry?.map((e) => e.request?.url)).toEqual(a.bundle.entry?.map((e) => e.request?.url));
    expect(b.bundle.entry?.[0]?.fullUrl).not.toBe(a.bundle.entry?.[0]?.fullUrl);
  });
});
