import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { DemoFile, DemoManifest, ExpectedFailure } from '../../../src/demo/types.ts';

/**
 * A small generated directory written by hand, in the generator's file formats: every channel
 * for registry institutions, and one deliberately bad message per non-MLLP channel.
 */
export interface SmallCounty {
  manifest: DemoManifest;
  /** HL7 control ids of the good messages, per file. */
  hl7ControlIds: string[];
  /** Messages the gateway must keep (stored by the worker). */
  good: number;
}

const CPH = 'county-peoples-hospital';

const adt = (facility: string, controlId: string, mrn: string, birth = '19491231') =>
  [
    `MSH|^~\\&|HIS|${facility}|HIE|COUNTY|20261101083000||ADT^A01^ADT_A01|${controlId}|P|2.5.1|||||CHN|UNICODE UTF-8`,
    'EVN|A01|20261101082500',
    `PID|1||${mrn}^^^CPH^MR~11010519491231002X^^^CHNID^NNCHN||王^秀英||${birth}|F|||城关镇东街1号^^某县^^^CHN||13800138000`,
    `PV1|1|I|NEURO^201^1||||||||||||||||V${controlId}|||||||||||||||||||||||||20261101080000`,
  ].join('\r') + '\r';

const bundle = (id: string, gender = 'female') => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: `urn:uuid:4f1c0f37-5d3e-4d6b-9a55-0c2b3a1d9e${id.padStart(2, '0').slice(-2)}`,
      resource: { resourceType: 'Patient', id: `p-${id}`, name: [{ text: '李秀兰' }], gender },
      request: { method: 'PUT', url: `Patient/p-${id}` },
    },
  ],
});

export async function writeSmallCounty(dir: string, tag = 'T'): Promise<SmallCounty> {
  const files: { file: DemoFile; bytes: Buffer }[] = [];
  const failures: ExpectedFailure[] = [];
  const add = (file: DemoFile, bytes: Buffer) => files.push({ file, bytes });

  const mllpIds = [1, 2, 3].map((n) => `${tag}MLLP${n}`);
  add(
    {
      path: 'messages/1-registrations/cph-his.hl7',
      institution: CPH,
      channel: 'hl7v2-mllp',
      messages: 3,
      charset: 'UTF-8',
    },
    Buffer.from(mllpIds.map((id, i) => adt('CPH', id, `${tag}-M${i}`) + '\n').join('')),
  );
  const httpIds = [1, 2, 3].map((n) => `${tag}LIS${n}`);
  add(
    {
      path: 'messages/1-registrations/cph-lis.hl7',
      institution: CPH,
      channel: 'hl7v2-http',
      messages: 3,
      charset: 'UTF-8',
    },
    Buffer.from(
      httpIds
        .map((id, i) => adt('CPH-LIS', id, `${tag}-L${i}`, i === 1 ? 'bad' : '19491231') + '\n')
        .join(''),
    ),
  );
  failures.push({
    path: 'messages/1-registrations/cph-lis.hl7',
    index: 1,
    controlId: httpIds[1]!,
    reason: 'PID-7 birth date is not a date',
    expect: 'AE',
  });

  const sample = await readFile(
    new URL('../../../mappings/samples/village-visits.csv', import.meta.url),
    'utf8',
  );
  const [header, ...rows] = sample.trim().split(/\r?\n/);
  const village = rows.map((r) => r.replace(/^V20261101(\d+)/, `V${tag}$1`));
  // A row without the patient's name: refused with 422 naming the cell.
  const badRow = village[0]!.replace(/^V\w+?,/, `V${tag}BAD,`).replace('欧阳明', '');
  const csvRows = [village[0]!, badRow, ...village.slice(1)];
  add(
    {
      path: 'messages/2-care/dongcun-village-clinic.csv',
      institution: 'dongcun-village-clinic',
      channel: 'csv:village-visits',
      messages: csvRows.length,
      charset: 'GB18030',
    },
    iconv.encode([header, ...csvRows].join('\r\n') + '\r\n', 'gb18030'),
  );
  failures.push({
    path: 'messages/2-care/dongcun-village-clinic.csv',
    index: 1,
    controlId: `V${tag}BAD`,
    reason: 'the patient name is missing',
    expect: '422',
  });

  const township = JSON.parse(
    await readFile(new URL('../../../mappings/samples/township-his-encounter.json', import.meta.url), 'utf8'),
  );
  // Without the doctor: the practitioner directory is not what these tests are about.
  delete township.doctor;
  const visits = [1, 2].map((n) => ({
    ...township,
    visit: { ...township.visit, visitNo: `MZ-${tag}-${n}` },
  }));
  add(
    {
      path: 'messages/2-care/qiaotou-township-his.ndjson',
      institution: 'qiaotou-township-health-centre',
      channel: 'json:township-his',
      messages: 2,
      charset: 'UTF-8',
    },
    Buffer.from(visits.map((v) => JSON.stringify(v) + '\n').join('')),
  );

  const bundles = [bundle(`${tag}1`), bundle(`${tag}2`, 'robot'), bundle(`${tag}3`)];
  add(
    {
      path: 'messages/2-care/chengguan-fhir.ndjson',
      institution: 'chengguan-community-health-centre',
      channel: 'fhir',
      messages: 3,
      charset: 'UTF-8',
    },
    Buffer.from(bundles.map((b) => JSON.stringify(b) + '\n').join('')),
  );
  failures.push({
    path: 'messages/2-care/chengguan-fhir.ndjson',
    index: 1,
    controlId: 'hash',
    reason: 'Patient.gender "robot" is not in the value set',
    expect: '422',
  });

  for (const { file, bytes } of files) {
    await mkdir(path.dirname(path.join(dir, file.path)), { recursive: true });
    await writeFile(path.join(dir, file.path), bytes);
  }
  const total = files.reduce((n, f) => n + f.file.messages, 0);
  const manifest: DemoManifest = {
    format: 'county-hie-demo/1',
    seed: `test-${tag}`,
    asOf: '2026-12-01',
    residents: 3,
    errorModel: 'none',
    phases: [
      { name: 'registrations', files: files.slice(0, 2).map((f) => f.file) },
      { name: 'care', files: files.slice(2).map((f) => f.file) },
    ],
    expectedFailures: failures,
    totals: { messages: total, expectedFailures: failures.length },
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { manifest, hl7ControlIds: [...mllpIds, httpIds[0]!, httpIds[2]!], good: total - failures.length };
}
