import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import {
  badFeedFiles,
  renderFamilyDoctorContractsCsv,
  renderFhirBundles,
  renderTownshipHisJson,
  renderVillageReferralsCsv,
  renderVillageVisitsCsv,
} from '../../../../src/demo/writers/feeds/index.ts';
import { loadDirectory } from '../../../../src/demo/care/directory.ts';
import type { RenderedFile } from '../../../../src/demo/types.ts';
import { COMMUNITY, COUNTY, input, TOWNSHIP, VILLAGE } from './county-fixture.ts';
import { BASE, errorsOf, evaluateFile, resourcesOf, type Evaluated } from './gateway-evaluate.ts';

const ICD10 = 'http://hl7.org/fhir/sid/icd-10';

/** Every message of the file passes the gateway's evaluation; the answers, in file order. */
async function mapsCleanly(file: RenderedFile): Promise<Evaluated[]> {
  const results = await evaluateFile(file);
  expect(results).toHaveLength(file.messages);
  for (const r of results) expect(errorsOf(r.failure), `${file.path} #${r.index}`).toEqual([]);
  expect(results.map((r) => r.mapped!.controlId)).toEqual(file.controlIds);
  return results;
}

/** The conditional reference to a directory practitioner, as the exchange identifies them. */
const doctorRef = (institution: string, staffNo: string) =>
  `Practitioner?identifier=${BASE}/sid/source-id/${institution}|doctor-${staffNo}`;
const directoryDoctor = (id: string) => loadDirectory().practitioners.find((p) => p.id === id)!;

const coding = (cc: any) => cc.coding.map((c: any) => `${c.system}|${c.code}`);

describe('village clinic CSV (GB 18030)', () => {
  it('renders one visit per row that the village-visits mapping maps: BP with components, glucose, diagnosis, prescription', async () => {
    const [file, ...more] = renderVillageVisitsCsv(input(VILLAGE));
    expect(more).toEqual([]);
    expect(file).toMatchObject({
      channel: 'csv:village-visits',
      charset: 'GB18030',
      institution: VILLAGE,
      messages: 2,
    });
    expect(file!.path).toBe(`messages/2-care/${VILLAGE}/village-visits.csv`);
    const [first, second] = await mapsCleanly(file!);

    const [patient] = resourcesOf(first!.mapped!.bundle, 'Patient');
    expect(patient.identifier[0]).toMatchObject({ system: `${BASE}/sid/mrn/${VILLAGE}`, value: 'DC0101' });
    expect(patient.name).toEqual([{ text: '欧阳明' }]);
    expect(patient.birthDate).toBe('1949-12-31');
    const [encounter] = resourcesOf(first!.mapped!.bundle, 'Encounter');
    expect(encounter.serviceProvider).toEqual({ reference: `Organization/${VILLAGE}` });
    expect(encounter.period.start).toBe('2026-10-08T08:30:00+08:00');
    const observations = resourcesOf(first!.mapped!.bundle, 'Observation');
    const bp = observations.find((o) => o.code.coding[0].code === '85354-9');
    expect(
      bp.component.map((c: any) => [
        c.code.coding[0].code,
        String(c.valueQuantity.value),
        c.valueQuantity.code,
      ]),
    ).toEqual([
      ['8480-6', '148', 'mm[Hg]'],
      ['8462-4', '92', 'mm[Hg]'],
    ]);
    expect(observations.find((o) => o.code.coding[0].code === '1558-6')).toBeDefined();
    // The clinic's local code GXY, translated back to the event's ICD-10 code by the ConceptMap.
    expect(coding(resourcesOf(first!.mapped!.bundle, 'Condition')[0].code)[0]).toBe(`${ICD10}|I10`);
    const [rx] = resourcesOf(first!.mapped!.bundle, 'MedicationRequest');
    expect(rx.medicationCodeableConcept.coding[0]).toMatchObject({
      code: 'XC08CAA001',
      display: '苯磺酸氨氯地平片',
    });
    expect(rx.dosageInstruction[0].doseAndRate[0].doseQuantity.code).toBe('mg');

    // The second resident: no ID card, no BP, no prescription; E11.9 goes out as the clinic's TNB2.
    expect(resourcesOf(second!.mapped!.bundle, 'MedicationRequest')).toEqual([]);
    expect(resourcesOf(second!.mapped!.bundle, 'Observation').map((o) => o.code.coding[0].code)).toEqual([
      '1558-6',
    ]);
    expect(coding(resourcesOf(second!.mapped!.bundle, 'Condition')[0].code)[0]).toBe(`${ICD10}|E11`);
  });

  it('is GB 18030 on the wire and decodes back to the same text', () => {
    const [file] = renderVillageVisitsCsv(input(VILLAGE));
    const text = iconv.decode(file!.bytes, 'gb18030');
    expect(text.split('\r\n')[0]!.startsWith('就诊编号,患者编号,姓名')).toBe(true);
    expect(text).toContain('欧阳明');
    expect(Buffer.compare(iconv.encode(text, 'gb18030'), file!.bytes)).toBe(0);
    expect(Buffer.compare(Buffer.from(text, 'utf8'), file!.bytes)).not.toBe(0);
    expect(file!.bytes.includes(Buffer.from('欧阳明', 'utf8'))).toBe(false);
  });

  it('renders upward referrals that map to a referral ServiceRequest for the receiving institution', async () => {
    const [file] = renderVillageReferralsCsv(input(VILLAGE));
    expect(file).toMatchObject({ channel: 'csv:village-referrals', charset: 'GB18030', messages: 1 });
    const [only] = await mapsCleanly(file!);
    const [sr] = resourcesOf(only!.mapped!.bundle, 'ServiceRequest');
    expect(sr.category[0].coding[0]).toMatchObject({ system: 'http://snomed.info/sct', code: '3457005' });
    expect(sr.performer).toEqual([{ reference: `Organization/${TOWNSHIP}` }]);
    // The referring village doctor, from the directory: by 工号, with the name the clinic writes.
    const doctor = directoryDoctor('dongcun-zhou-fugen');
    expect(sr.requester).toEqual({ reference: doctorRef(VILLAGE, doctor.staffNo), display: doctor.name.zh });
    expect(sr.status).toBe('active');
    expect(sr.intent).toBe('order');
    expect(coding(sr.reasonCode[0])).toEqual([`${ICD10}|I10`]);
    expect(sr.authoredOn).toBe('2026-10-20T10:40:00+08:00');
    // The note holds a comma: quoted in the CSV, whole after mapping.
    expect(sr.note).toEqual([{ text: '血压控制不佳,请上级医院调整用药' }]);
    const [patient] = resourcesOf(only!.mapped!.bundle, 'Patient');
    expect(sr.subject.reference).toBe(only!.mapped!.bundle.entry![0]!.fullUrl);
    expect(patient.identifier[0].value).toBe('DC0101');
  });
});

describe('township health centre (UTF-8)', () => {
  it('renders family-doctor contracts that map to EpisodeOfCare + CareTeam with the doctor by 工号', async () => {
    const [file] = renderFamilyDoctorContractsCsv(input(TOWNSHIP));
    expect(file).toMatchObject({ channel: 'csv:family-doctor-contracts', charset: 'UTF-8', messages: 1 });
    const [only] = await mapsCleanly(file!);
    const bundle = only!.mapped!.bundle;
    const [episode] = resourcesOf(bundle, 'EpisodeOfCare');
    expect(coding(episode.type[0])).toEqual([`${BASE}/CodeSystem/episode-type|family-doctor-contract`]);
    expect(episode.status).toBe('active');
    expect(episode.period).toEqual({ start: '2026-01-05', end: '2026-12-31' });
    expect(episode.managingOrganization).toEqual({ reference: `Organization/${TOWNSHIP}` });
    // The directory's doctor D017, named as the directory has it; no Practitioner written over it.
    expect(resourcesOf(bundle, 'Practitioner')).toEqual([]);
    const doctor = loadDirectory().practitioners.find(
      (p) => p.institution === TOWNSHIP && p.staffNo === 'D017',
    )!;
    expect(episode.careManager).toEqual({ reference: doctorRef(TOWNSHIP, 'D017'), display: doctor.name.zh });
    const [team] = resourcesOf(bundle, 'CareTeam');
    expect(team.name).toBe('家庭医生团队 T01');
  });

  it('renders visits, immunizations and referrals as township HIS objects that map (v2)', async () => {
    const [file] = renderTownshipHisJson(input(TOWNSHIP));
    expect(file).toMatchObject({ channel: 'json:township-his', charset: 'UTF-8', messages: 4 });
    const [visit, referral, cvx, local] = await mapsCleanly(file!);

    const v = visit!.mapped!.bundle;
    expect(resourcesOf(v, 'Encounter')[0].serviceProvider).toEqual({ reference: `Organization/${TOWNSHIP}` });
    expect(resourcesOf(v, 'Condition')).toHaveLength(2);
    const bp = resourcesOf(v, 'Observation').find((o) => o.code.coding[0].code === '85354-9');
    expect(bp.component.map((c: any) => c.code.coding[0].code)).toEqual(['8480-6', '8462-4']);
    const [daily, asNeeded] = resourcesOf(v, 'MedicationRequest');
    expect(daily.medicationCodeableConcept.coding[0]).toMatchObject({
      system: `${BASE}/CodeSystem/drug-cn`,
      code: 'XC08CAF002',
    });
    expect(daily.dosageInstruction[0].timing.repeat).toEqual({ frequency: 1, period: 1, periodUnit: 'd' });
    expect(daily.authoredOn).toBe('2026-10-21T09:15:00+08:00');
    const doctor = directoryDoctor('qt-xie-dong');
    expect(daily.requester).toEqual({
      reference: doctorRef(TOWNSHIP, doctor.staffNo),
      display: doctor.name.zh,
    });
    expect(resourcesOf(v, 'Encounter')[0].participant[0].individual.reference).toBe(
      doctorRef(TOWNSHIP, doctor.staffNo),
    );
    expect(resourcesOf(v, 'Practitioner')).toEqual([]);
    expect(asNeeded.dosageInstruction[0].asNeededBoolean).toBe(true);
    expect(asNeeded.dosageInstruction[0].timing.repeat).toBeUndefined();

    const [down] = resourcesOf(referral!.mapped!.bundle, 'ServiceRequest');
    expect(down.performer).toEqual([{ reference: `Organization/${VILLAGE}` }]);
    expect(down.category[0].coding[0].code).toBe('3457005');
    expect(down.code.text).toBe('下转');
    expect(down.status).toBe('completed');
    expect(down.requester).toEqual({ reference: `Organization/${TOWNSHIP}` });

    const [hepB] = resourcesOf(cvx!.mapped!.bundle, 'Immunization');
    expect(hepB.vaccineCode).toEqual({
      coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '08', display: '乙肝疫苗' }],
      text: '乙肝疫苗',
    });
    expect(hepB.protocolApplied).toEqual([{ doseNumberPositiveInt: 2 }]);
    expect(hepB.lotNumber).toBe('202609A017');
    expect(hepB.occurrenceDateTime).toBe('2026-11-01T09:30:00+08:00');
    expect(hepB.performer).toEqual([{ actor: { reference: `Organization/${TOWNSHIP}` } }]);
    const [je] = resourcesOf(local!.mapped!.bundle, 'Immunization');
    expect(coding(je.vaccineCode)).toEqual([`${BASE}/CodeSystem/local/${TOWNSHIP}/vaccine|NIP-JE-L`]);
  });
});

describe('FHIR sender', () => {
  it('renders one transaction Bundle per event that passes the FHIR stage, keyed to the sender', async () => {
    const [file] = renderFhirBundles(input(COMMUNITY));
    expect(file).toMatchObject({ channel: 'fhir', charset: 'UTF-8', messages: 6 });
    const results = await mapsCleanly(file!);
    const lines = file!.bytes
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.every((b) => b.resourceType === 'Bundle' && b.type === 'transaction')).toBe(true);
    const bundles = results.map((r) => r.mapped!.bundle);
    const sourceId = `${BASE}/sid/source-id/${COMMUNITY}`;
    for (const b of bundles) {
      const [patient] = resourcesOf(b, 'Patient');
      expect(patient.identifier.map((i: any) => `${i.system}|${i.value}`)).toEqual(
        expect.arrayContaining([`${BASE}/sid/mrn/${COMMUNITY}|CG-7781`, `${sourceId}|mrn-CG-7781`]),
      );
      // Keyed on the institution's MRN, as its other channels key the same patient.
      expect(b.entry![0]!.request!.url).toBe(
        `Patient?identifier=${encodeURIComponent(`${BASE}/sid/mrn/${COMMUNITY}`)}|CG-7781`,
      );
    }
    const all = (type: string) => bundles.flatMap((b) => resourcesOf(b, type));
    expect(all('Encounter').map((e) => e.serviceProvider.reference)).toEqual([`Organization/${COMMUNITY}`]);
    const bp = all('Observation').find((o) => o.code.coding[0].code === '85354-9');
    expect(bp.component).toHaveLength(2);
    expect(all('MedicationRequest')[0].medicationCodeableConcept.coding[0].system).toBe(
      `${BASE}/CodeSystem/drug-cn`,
    );
    const [report, ecg] = all('DiagnosticReport');
    expect(report.result).toHaveLength(2);
    expect(ecg.conclusion).toBe('正常心电图');
    const [sr] = all('ServiceRequest');
    expect(sr.category[0].coding[0].code).toBe('3457005');
    expect(sr.performer).toEqual([{ reference: `Organization/${COUNTY}` }]);
    expect(all('Immunization')[0].protocolApplied[0].doseNumberPositiveInt).toBe(1);
    const [episode] = all('EpisodeOfCare');
    expect(episode.type[0].coding[0].code).toBe('family-doctor-contract');
    // Directory doctors are referred to by their source id (doctor-{工号}), never carried.
    expect(all('Practitioner')).toEqual([]);
    const doctorKey = (staffNo: string) =>
      `Practitioner?identifier=${encodeURIComponent(`${sourceId}|doctor-${staffNo}`)}`;
    expect(episode.careManager.reference).toBe(doctorKey('S011'));
    const visitDoctor = directoryDoctor('cg-yang-li');
    expect(all('Encounter')[0].participant[0].individual.reference).toBe(doctorKey(visitDoctor.staffNo));
    expect(all('MedicationRequest')[0].requester.reference).toBe(doctorKey(visitDoctor.staffNo));
  });
});

describe('every writer', () => {
  const runAll = () => [
    ...renderVillageVisitsCsv(input(VILLAGE)),
    ...renderVillageReferralsCsv(input(VILLAGE)),
    ...renderFamilyDoctorContractsCsv(input(TOWNSHIP)),
    ...renderTownshipHisJson(input(TOWNSHIP)),
    ...renderFhirBundles(input(COMMUNITY)),
    ...badFeedFiles('messages/9-bad').files,
  ];

  it('gives byte-identical files for the same input', () => {
    const a = runAll();
    const b = runAll();
    expect(a.map((f) => f.path)).toEqual(b.map((f) => f.path));
    a.forEach((f, i) => expect(Buffer.compare(f.bytes, b[i]!.bytes), f.path).toBe(0));
    expect(new Set(a.map((f) => f.path)).size).toBe(a.length);
  });

  it('writes nothing for an institution without events of its kinds', () => {
    expect(renderVillageVisitsCsv(input(VILLAGE, ['referral']))).toEqual([]);
    expect(renderVillageReferralsCsv(input(VILLAGE, ['visit']))).toEqual([]);
    expect(renderFamilyDoctorContractsCsv(input(TOWNSHIP, ['visit']))).toEqual([]);
    expect(renderTownshipHisJson(input(TOWNSHIP, ['contract']))).toEqual([]);
    expect(renderFhirBundles(input(COMMUNITY, []))).toEqual([]);
  });

  it('refuses an event whose resident the institution has no registration for', () => {
    const broken = { ...input(VILLAGE), registrations: new Map() };
    expect(() => renderVillageVisitsCsv(broken)).toThrow(/no registration for P0000001/);
  });
});

describe('badFeedFiles', () => {
  it('each bad message fails in the gateway for its stated reason', async () => {
    const { files, failures } = badFeedFiles('messages/9-bad');
    expect(files.map((f) => f.channel)).toEqual(['csv:village-visits', 'json:township-his', 'fhir']);
    expect(failures).toHaveLength(6);
    expect(failures.every((f) => f.expect === '422')).toBe(true);
    const answers = new Map<string, Evaluated[]>();
    for (const f of files) answers.set(f.path, await evaluateFile(f));
    const errorOf = (i: number) => {
      const failure = failures[i]!;
      const result = answers.get(failure.path)![failure.index]!;
      expect(result.failure, failure.reason).toBeDefined();
      return errorsOf(result.failure).join('\n');
    };
    // Each row is evaluated as the gateway archives it (header + row), hence "line 2" for both.
    expect(errorOf(0)).toMatch(/line 2, column "就诊时间": .*2026\/02\/30.*not a real calendar date/);
    expect(errorOf(1)).toMatch(/line 2, column "空腹血糖": .*"6\.8mmol\/L" is not a decimal number/);
    expect(errorOf(2)).toMatch(/\/visit\/visitNo: .*required value is missing/);
    expect(errorOf(3)).toMatch(/\/referral\/to: .*required value is missing/);
    const fhirFile = files.find((f) => f.channel === 'fhir')!;
    const sent = JSON.parse(fhirFile.bytes.toString('utf8').split('\n')[0]!);
    const at = sent.entry.findIndex((e: any) => e.resource.resourceType === 'Observation');
    expect(sent.entry[at].resource.status).toBeUndefined();
    expect(errorOf(4)).toBe(`Bundle.entry[${at}].resource.status: Missing required element status`);
    expect(errorOf(5)).toMatch(
      /Bundle\.type must be transaction, batch, collection or message, got "searchset"/,
    );
    // A failure names a message of its file by position, and its record number where it has one.
    for (const f of failures) {
      const file = files.find((x) => x.path === f.path)!;
      expect(f.index).toBeLessThan(file.messages);
      expect(f.controlId).toBe(file.controlIds[f.index]);
    }
  });
});
