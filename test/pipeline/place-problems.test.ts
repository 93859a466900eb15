import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mapSample } from '../../src/admin/map-sample.ts';
import { buildAck } from '../../src/ingest/hl7v2/ack.ts';
import { DEFAULT_MAPPINGS_DIR, loadMappings, shippedMappings } from '../../src/mapping/engine/index.ts';
import type { ElementOrigin } from '../../src/mapping/types.ts';
import { parseHl7 } from '../../src/parse/hl7v2/index.ts';
import { evaluateHl7 } from '../../src/pipeline/hl7v2-evaluate.ts';
import { problemsToOutcome } from '../../src/pipeline/outcomes.ts';
import { loadFhirModel } from '../../src/repository/fhir-model.ts';
import { BASE, CTX, INSTITUTION } from '../mapping/hl7v2-files/support.ts';

// A problem the validator finds in the mapped FHIR is told to the sender at the place in its own
// message that gave the element: ERR-2 for HL7, line and column for CSV, the pointer for JSON.
const model = loadFhirModel();
const CPH = { ...INSTITUTION, id: 'county-peoples-hospital', facilityCodes: ['CPH', 'CPH-LIS'] };
const sample = (name: string) => readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples', name), 'utf8');
const evaluate = (text: string, mappings = shippedMappings()) =>
  evaluateHl7(text, CPH, 'arch-place-1', { model, canonicalBase: BASE, mappings });
const errorsOf = (text: string, mappings = shippedMappings()) => {
  const e = evaluate(text, mappings);
  expect(e.failure?.kind).toBe('error');
  return e.failure!.problems;
};

const folders: string[] = [];
afterAll(async () => {
  await Promise.all(folders.map((d) => rm(d, { recursive: true, force: true })));
});

describe('validation problems placed in an HL7 v2 message', () => {
  it('names the field of a bad patient name (PID-5) with the FHIR element it became', () => {
    const problems = errorsOf(sample('adt-a01.hl7').replace('欧阳^秀英', '欧\u0000阳^秀英'));
    const family = problems.find((p) => p.fhirPath === 'Bundle.entry[0].resource.name[0].family');
    expect(family).toMatchObject({
      expression: 'PID-5',
      code: 'value',
      hl7: { segment: 'PID', sequence: 1, field: 5, repetition: 1, code: '102' },
    });
    // Every problem is placed, none left with only the FHIR path.
    expect(problems.every((p) => p.hl7?.segment === 'PID')).toBe(true);
  });

  it('tells the second DG1 from the first, and an OBX by its place in the message', () => {
    const adt = errorsOf(sample('adt-a01.hl7').replace('E11.9^2型糖尿病', 'E11  9^2型糖尿病'));
    expect(adt).toHaveLength(1);
    expect(adt[0]).toMatchObject({ expression: 'DG1[2]-3', hl7: { segment: 'DG1', sequence: 2, field: 3 } });
    expect(adt[0]!.fhirPath).toMatch(/^Bundle\.entry\[\d+\]\.resource\.code\.coding\[0\]\.code$/);

    const oru = sample('oru-r01.hl7');
    const obx = oru.split(/\r\n|\r|\n/).filter((s) => s.startsWith('OBX|'));
    // The second OBX (an ST result): its code is the Observation's.
    const code = obx[1]!.split('|')[3]!.split('^')[0]!;
    const broken = oru.replace(obx[1]!, obx[1]!.replace(`|${code}^`, `|${code}  X^`));
    const [problem, ...rest] = errorsOf(broken);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ expression: 'OBX[2]-3', hl7: { segment: 'OBX', sequence: 2, field: 3 } });
  });

  it('pairs an appended element with its repetition: the second phone of PID-13', () => {
    const text = sample('adt-a01.hl7').replace(
      '^PRN^CP^^^^13905721234',
      '^PRN^CP^^^^13905721234~^PRN^PH^^^^0572\u00002345678',
    );
    const problems = errorsOf(text);
    expect(problems.map((p) => [p.expression, p.fhirPath])).toEqual([
      ['PID-13[2]', 'Bundle.entry[0].resource.telecom[1].value'],
    ]);
    expect(problems[0]!.hl7).toMatchObject({ segment: 'PID', field: 13, repetition: 2 });
  });

  it('puts the place in ERR-2 of the AE, and both places in the OperationOutcome', () => {
    const text = sample('adt-a01.hl7').replace('I10^原发性高血压', 'I1  0^原发性高血压');
    const e = evaluate(text);
    const ack = buildAck(parseHl7(text), {
      code: 'AE',
      controlId: 'ACK1',
      problems: e.failure!.problems,
    });
    const err = ack
      .split('\r')
      .find((s) => s.startsWith('ERR|'))!
      .split('|');
    expect(err[2]).toBe('DG1^1^3^1');
    expect(err[3]).toBe('102^Data type error^HL70357');
    const issue = problemsToOutcome(e.failure!.problems).issue[0]!;
    expect(issue.expression).toEqual([
      'DG1-3',
      expect.stringMatching(/^Bundle\.entry\[\d+\]\.resource\.code/),
    ]);
    expect(issue.location).toEqual(['DG1^1^3^1']);
    expect(issue.code).toBe('value');
  });

  it('names a required element the message left empty by the field it is read from (101)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hie-place-'));
    folders.push(dir);
    await mkdir(path.join(dir, 'hl7v2'));
    // Encounter.status is 1..1 in R4; here it is read from a field this sender leaves empty.
    await writeFile(
      path.join(dir, 'hl7v2', 'visit-only.yaml'),
      [
        'id: visit-only',
        'version: 1',
        'format: hl7v2',
        'messageType: ADT^A01',
        'resources:',
        '  - name: encounter',
        '    type: Encounter',
        "    key: { system: '{base}/sid/visit/{institution}', value: { path: PV1-19 } }",
        '    elements:',
        '      - { target: status, path: PV1-41, map: { A: in-progress, D: finished } }',
        "      - { target: class, value: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: IMP } }",
        "      - { target: serviceProvider, value: { reference: 'Organization/{institution}' } }",
      ].join('\n'),
    );
    const mappings = await loadMappings(dir);
    const problems = errorsOf(sample('adt-a01.hl7'), mappings);
    const status = problems.find((p) => p.fhirPath === 'Bundle.entry[0].resource.status');
    expect(status).toMatchObject({
      expression: 'PV1-41',
      code: 'required',
      hl7: { segment: 'PV1', sequence: 1, field: 41, code: '101' },
    });
  });
});

describe("the mapping's own warnings placed in an HL7 v2 message", () => {
  it('names the field of an unverified national ID (102) and of an untranslated local code (103)', () => {
    const text = sample('adt-a01.hl7')
      .replace('330522198503121233', '330522198503121234')
      .replace('PV1|1|I|', 'PV1|1|ZZ|');
    const e = evaluate(text);
    expect(e.failure).toBeUndefined();
    const places = (e.warnings ?? []).map((w) => [w.location?.[0], w.details?.coding?.[0]?.code]);
    expect(places).toContainEqual(['PID^1^3', '102']);
    expect(places).toContainEqual(['PV1^1^2^1', '103']);
  });
});

describe('validation problems placed in CSV rows and JSON documents', () => {
  const opts = { institution: INSTITUTION, canonicalBase: BASE, model };
  const mapping = (id: string) => shippedMappings().mappings.find((m) => m.id === id)!;

  it('names the line and column of a CSV cell that gave a bad value', () => {
    const csv = sample('village-visits.csv').replace('司马兰', '司马\u0000兰').replace('TNB2', 'TN  B2');
    const row = mapSample(mapping('village-visits'), Buffer.from(csv), opts).find(
      (s) => s.label === 'line 3',
    )!;
    const errors = row.issues.filter((i) => i.severity === 'error');
    expect(errors.map((i) => i.expression)).toEqual([
      ['line 3, column "姓名"', 'Bundle.entry[0].resource.name[0].text'],
      [
        'line 3, column "诊断编码"',
        expect.stringMatching(/^Bundle\.entry\[\d+\]\.resource\.code\.coding\[0\]\.code$/),
      ],
    ]);
  });

  it('names the JSON pointer of a repeated item, counted in the document', () => {
    const json = JSON.parse(sample('township-his-encounter.json'));
    json.diagnoses[1].code = 'E11  9';
    const [doc] = mapSample(mapping('township-his-encounter'), Buffer.from(JSON.stringify(json)), opts);
    const errors = doc!.issues.filter((i) => i.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.expression![0]).toBe('/diagnoses/1/code');
  });
});

describe('a traced run', () => {
  it('maps every shipped sample exactly as the usual run does, and only records where things came from', () => {
    const set = shippedMappings();
    const seen: string[] = [];
    for (const m of set.mappings.filter((x) => x.format === 'hl7v2')) {
      const file = m.messageTypes!.map((t) => t.toLowerCase().replace('^', '-'));
      const name = file.find((f) => {
        try {
          return readFileSync(path.join(DEFAULT_MAPPINGS_DIR, 'samples', `${f}.hl7`));
        } catch {
          return false;
        }
      });
      if (!name) continue;
      seen.push(name);
      const msg = parseHl7(sample(`${name}.hl7`));
      const trace: ElementOrigin[] = [];
      const usual = m.map(msg, CTX);
      const traced = m.map(msg, { ...CTX, trace });
      expect(traced.bundle, m.id).toEqual(usual.bundle);
      expect(trace.length, m.id).toBeGreaterThan(0);
      // Every recorded element is one the resource really has (or a field left empty).
      for (const o of trace.filter((x) => x.set)) {
        const resource = usual.bundle.entry![o.entry]!.resource as unknown as Record<string, unknown>;
        expect(read(resource, o.element), `${m.id} ${o.element}`).toBeDefined();
      }
    }
    expect(seen.sort()).toEqual(['adt-a01', 'adt-a40', 'oml-o21', 'orm-o01', 'oru-r01', 'vxu-v04']);
  });
});

/** A dotted element path with indexes, read from a resource. */
function read(resource: Record<string, unknown>, element: string): unknown {
  let node: unknown = resource;
  for (const part of element.split('.')) {
    const [, key, index] = /^([A-Za-z0-9]+)(?:\[(\d+)\])?$/.exec(part)!;
    node = (node as Record<string, unknown> | undefined)?.[key!];
    if (index !== undefined) node = Array.isArray(node) ? node[Number(index)] : undefined;
  }
  return node;
}
