import { createHash } from 'node:crypto';
import type { ExpectedFailure, Registration, RenderedFile, VisitEvent } from '../../types.ts';
import { fhirBundle, demoCanonicalBase } from './fhir-bundles.ts';
import { csvText, demoDirectory, encode, institutionProfile, ndjson, renderedFile } from './shared.ts';
import { townshipObject } from './township-his.ts';
import { VILLAGE_VISIT_COLUMNS } from './village-visits.ts';

/**
 * A few deliberately bad messages for the CSV, JSON and FHIR channels — mistakes member systems
 * really make — each with the reason it must fail and the answer it must get (`422`: the gateway
 * archives it as failed and says why). They are sent by institutions of the registry that speak
 * the channel; fixed content (no seed needed): the same bytes every run.
 *
 * `controlId` is the message's own record number (就诊编号, the Bundle's identifier); a message
 * that lacks one gets the SHA-256 of its bytes, as the gateway derives it (CONTRACTS "Inbound
 * answers"). Note that the gateway keys a feed message whose mapping fails by content hash too.
 */
export function badFeedFiles(folder: string): { files: RenderedFile[]; failures: ExpectedFailure[] } {
  const files: RenderedFile[] = [];
  const failures: ExpectedFailure[] = [];
  const add = (file: RenderedFile, reasons: string[]) => {
    files.push(file);
    reasons.forEach((reason, index) =>
      failures.push({ path: file.path, index, controlId: file.controlIds[index]!, reason, expect: '422' }),
    );
  };
  const village = speaker('csv:village-visits');
  if (village) add(...villageVisits(folder, village));
  const township = speaker('json:township-his');
  if (township) add(...townshipHis(folder, township));
  const fhir = speaker('fhir');
  if (fhir) add(...fhirBundles(folder, fhir));
  return { files, failures };
}

/** The first registry institution that speaks a channel (registry order is stable). */
function speaker(format: string): string | undefined {
  return demoDirectory().institutions.find((i) => i.formats.includes(format))?.id;
}

function villageVisits(folder: string, institutionId: string): [RenderedFile, string[]] {
  const { charset } = institutionProfile(institutionId);
  const patient = ['BAD-DC-01', '周建华', '男', '1958/04/21', '', '13967800001'];
  const rows = [
    // February has no 30th: the clinic software let a typed date through.
    ['BADVV0001', ...patient, '2026/02/30 09:10', '146', '90', '', 'GXY', '高血压', '', '', '', ''],
    // The unit typed into the glucose cell.
    ['BADVV0002', ...patient, '2026/03/02 09:40', '', '', '6.8mmol/L', 'TNB2', '2型糖尿病', '', '', '', ''],
  ];
  const file = renderedFile({
    folder,
    institutionId,
    channel: 'csv:village-visits',
    name: 'village-visits.csv',
    text: csvText(VILLAGE_VISIT_COLUMNS, rows),
    charset,
    controlIds: rows.map((r) => r[0]!),
  });
  return [
    file,
    [
      'village visit with an impossible visit date (就诊时间 2026/02/30): not a real calendar date',
      'village visit with the unit typed into 空腹血糖 ("6.8mmol/L"): not a decimal number',
    ],
  ];
}

function townshipHis(folder: string, institutionId: string): [RenderedFile, string[]] {
  const { charset, timezone } = institutionProfile(institutionId);
  const reg: Registration = {
    personId: 'P-BAD-02',
    institutionId,
    mrn: 'BAD-QT-01',
    name: '吴秀珍',
    sex: 'female',
    birthDate: '1961-09-03',
    phone: '13967800002',
    errors: [],
  };
  const visit = (id: string, time: string): VisitEvent => ({
    kind: 'visit',
    id,
    personId: reg.personId,
    institutionId,
    time,
    setting: 'outpatient',
    department: '全科',
    diagnoses: [{ system: 'icd-10', code: 'I10', name: '原发性高血压' }],
    vitals: [],
    prescriptions: [],
  });
  // An export bug: the visit number left out.
  const noVisitNo = townshipObject(visit('BADTH0001', '2026-03-03T10:05:00+08:00'), reg, timezone);
  delete (noVisitNo.visit as Record<string, unknown>).visitNo;
  // A referral that does not say where to.
  const noReceiver = townshipObject(
    {
      kind: 'referral',
      id: 'BADTH0002',
      personId: reg.personId,
      institutionId,
      time: '2026-03-04T14:20:00+08:00',
      direction: 'up',
      to: '',
      reason: { system: 'icd-10', code: 'I10', name: '原发性高血压' },
      status: 'active',
      note: '血压控制不佳',
    },
    reg,
    timezone,
  );
  const referral = noReceiver.referral as Record<string, unknown>;
  delete referral.to;
  const text = ndjson([noVisitNo, noReceiver]);
  const lines = text.split('\n').filter((l) => l !== '');
  const file = renderedFile({
    folder,
    institutionId,
    channel: 'json:township-his',
    name: 'township-his.ndjson',
    text,
    charset,
    controlIds: [sha256(encode(lines[0]!, charset)), 'BADTH0002'],
  });
  return [
    file,
    [
      'township HIS visit without its visit number (/visit/visitNo): a required value is missing',
      'township HIS referral without its receiving institution (/referral/to): a required value is missing',
    ],
  ];
}

function fhirBundles(folder: string, institutionId: string): [RenderedFile, string[]] {
  const base = demoCanonicalBase();
  const reg: Registration = {
    personId: 'P-BAD-03',
    institutionId,
    mrn: 'BAD-CG-01',
    name: '郑国强',
    sex: 'male',
    birthDate: '1949-11-30',
    errors: [],
  };
  const visit: VisitEvent = {
    kind: 'visit',
    id: 'BADFH0001',
    personId: reg.personId,
    institutionId,
    time: '2026-03-05T08:50:00+08:00',
    end: '2026-03-05T09:10:00+08:00',
    setting: 'outpatient',
    department: '全科',
    diagnoses: [],
    vitals: [
      { kind: 'systolic', value: 150, unit: 'mmHg' },
      { kind: 'diastolic', value: 95, unit: 'mmHg' },
    ],
    prescriptions: [],
  };
  // The sender forgot Observation.status (1..1 in R4).
  const noStatus = fhirBundle(visit, reg, base);
  const obs = noStatus.entry.find((e) => e.resource.resourceType === 'Observation')!.resource;
  delete obs.status;
  // A search result posted as if it were a transaction.
  const searchset = fhirBundle(
    { ...visit, id: 'BADFH0002', time: '2026-03-06T08:50:00+08:00', end: undefined },
    reg,
    base,
  );
  const asSearchset = { ...searchset, type: 'searchset' };
  const file = renderedFile({
    folder,
    institutionId,
    channel: 'fhir',
    name: 'fhir-bundles.ndjson',
    text: ndjson([noStatus, asSearchset]),
    charset: 'UTF-8',
    controlIds: [noStatus, asSearchset].map((b) => `${b.identifier.system}|${b.identifier.value}`),
  });
  return [
    file,
    [
      'FHIR Bundle whose blood-pressure Observation has no status (Observation.status is 1..1)',
      'FHIR Bundle of type searchset: /ingest/fhir takes transaction, batch, collection or message Bundles',
    ],
  ];
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
