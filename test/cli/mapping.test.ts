import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mappingCommand } from '../../src/cli/mapping-command.ts';

const SAMPLES = path.resolve(import.meta.dirname, '../../mappings/samples');

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await mappingCommand(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('hie mapping', () => {
  it('test prints one Bundle per CSV row and the warnings; exit 0 without errors', async () => {
    const r = await run([
      'test',
      'village-visits',
      path.join(SAMPLES, 'village-visits.csv'),
      '--institution',
      'dongcun-village-clinic',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out);
    expect(body.results.map((x: { label: string }) => x.label)).toEqual(['line 2', 'line 3', 'line 4']);
    expect(body.results[0].bundle.type).toBe('transaction');
    expect(r.out).toContain('"value":5.60');
    expect(body.results[1].issues.map((i: { severity: string }) => i.severity)).toEqual(['warning']);
  });

  it('test of an HL7 sample without --institution maps it as the registered sender of its MSH-4', async () => {
    const r = await run(['test', 'oru-r01', path.join(SAMPLES, 'oru-r01.hl7'), '--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out);
    const sources = body.results[0].bundle.entry.map(
      (e: { resource: { meta?: { source?: string } } }) => e.resource.meta?.source,
    );
    // MSH-4 "CPH" is a facility code of the county people's hospital in registry/institutions.json.
    expect(new Set(sources)).toEqual(
      new Set(['https://county-hie.org/fhir/institution/county-peoples-hospital#sample-1']),
    );
    const unknown = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-map-'));
    const file = path.join(unknown, 'other.hl7');
    await writeFile(
      file,
      readFileSync(path.join(SAMPLES, 'oru-r01.hl7'), 'utf8').replace('|PACS|CPH|', '|PACS|NOPE|'),
    );
    const other = JSON.parse((await run(['test', 'oru-r01', file, '--json'])).out);
    await rm(unknown, { recursive: true });
    expect(other.results[0].bundle.entry[0].resource.meta.source).toMatch(
      /\/institution\/sample-institution#/,
    );
  });

  it("test checks the region's profiles as the gateway does, not only base R4", async () => {
    // Without OBR-7 the lipid panel's DiagnosticReport is valid R4 but lacks the effective time
    // the region's DiagnosticReport profile requires: the gateway would answer AE.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-map-'));
    const file = path.join(dir, 'no-obr7.hl7');
    await writeFile(
      file,
      readFileSync(path.join(SAMPLES, 'oru-r01.hl7'), 'utf8').replace(
        '|LAB-3301|24331-1^血脂四项^LN|||20261105070000|',
        '|LAB-3301|24331-1^血脂四项^LN||||',
      ),
    );
    const r = await run(['test', 'oru-r01', file]);
    await rm(dir, { recursive: true });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /error: Bundle\.entry\[\d+\]\.resource\.effective\[x\]: .*at least 1 required.*hie-diagnosticreport/,
    );
  });

  it('test exits 1 on a mapping error and names line and column', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-map-'));
    const csv =
      '就诊编号,患者编号,姓名,性别,出生日期,身份证号,联系电话,就诊时间,收缩压,舒张压,空腹血糖,诊断编码,诊断名称,处方药品编码,处方药品名称,剂量,剂量单位\r\nV1,DC9,,男,1956/03/12,,,2026/11/01 08:30,,,,,,,,,\r\n';
    await writeFile(path.join(dir, 'bad.csv'), csv);
    const r = await run(['test', 'village-visits', path.join(dir, 'bad.csv')]);
    await rm(dir, { recursive: true });
    expect(r.code).toBe(1);
    expect(r.err).toContain('line 2, column "姓名"');
  });

  it('lint passes on the shipped folder and fails with file and line on a broken file', async () => {
    expect((await run(['lint'])).code).toBe(0);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-cli-lint-'));
    const file = path.join(dir, 'x.yaml');
    await writeFile(file, 'id: x\nversion: 1\nformat: xml\nfeed: f\nresources: []\n');
    const r = await run(['lint', file]);
    await rm(dir, { recursive: true });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: schema: /format must be one of csv, json`,
      ),
    );
  });
});
