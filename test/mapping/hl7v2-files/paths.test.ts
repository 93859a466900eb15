import { describe, expect, it } from 'vitest';
import {
  compileGroupPath,
  compileHl7Path,
  messageGroup,
  textsAt,
  type Hl7Value,
} from '../../../src/mapping/hl7v2-files/paths.ts';
import { parseHl7 } from '../../../src/parse/hl7v2/index.ts';

const MSG = parseHl7(
  [
    'MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261103091500||ORM^O01|C1|P|2.5.1',
    'PID|1||MRN1^^^CPH^MR~33252219680415201X^^^CHNID^NNCHN||李^建华~LI^JIANHUA',
    'NTE|1||patient-level note',
    'ORC|NW|P-1',
    'OBR|1|P-1||A^first',
    'NTE|1||note of order 1',
    'OBX|1|ST|X^x||one',
    'NTE|1||note of obx 1',
    'OBX|2|ST|Y^y||two',
    'ORC|NW|P-2',
    'OBR|1|P-2||B^second',
    'OBX|1|ST|Z^z||three',
  ].join('\r'),
);
const root = messageGroup(MSG);
const text = (path: string, group = root) => textsAt(compileHl7Path(path), group);

describe('HL7 paths', () => {
  it('reads segment occurrence, field repetition, component and sub-component', () => {
    expect(text('PID-3')).toEqual(['MRN1']);
    expect(text('PID-3[2].1')).toEqual(['33252219680415201X']);
    expect(text('PID-3[2].5')).toEqual(['NNCHN']);
    expect(text('PID-5[*].2')).toEqual(['建华', 'JIANHUA']);
    expect(text('ORC[2]-2')).toEqual(['P-2']);
    expect(text('OBX[3]-5')).toEqual(['three']);
    expect(text('PID-3[3]')).toEqual([]);
    expect(text('ZZZ-1')).toEqual([]);
  });

  it('gives the whole repetition for composite conversions', () => {
    const v = compileHl7Path('PID-3[2]')(root) as Hl7Value;
    expect(v.whole).toBe(true);
    expect(v.repetition.get(4)).toBe('CHNID');
    expect(v.at).toEqual({ segment: 'PID', sequence: 1, field: 3, repetition: 2 });
  });

  it('refuses what is not a path', () => {
    for (const bad of ['PID3', 'pid-3', 'PID-0', 'PID-3.x', 'PID[0]-3', '/patient/id'])
      expect(() => compileHl7Path(bad), bad).toThrow(/not an HL7 path/);
    expect(() => compileGroupPath('ORC/obx')).toThrow(/not a segment group/);
  });
});

describe('segment groups', () => {
  it('one group per start segment, nested, labelled by the segment occurrence', () => {
    const orders = compileGroupPath('ORC')(root);
    expect(orders.map((g) => g.label)).toEqual(['ORC[1]', 'ORC[2]']);
    expect(orders[0]!.segments.map((s) => s.name)).toEqual(['ORC', 'OBR', 'NTE', 'OBX', 'NTE', 'OBX']);
    const obx = compileGroupPath('ORC/OBX')(root);
    expect(obx.map((g) => g.label)).toEqual(['OBX[1]', 'OBX[2]', 'OBX[3]']);
  });

  it('reads in the group first, then outwards, never in a sibling group', () => {
    const [first, second] = compileGroupPath('ORC')(root);
    expect(text('OBR-4', first)).toEqual(['A']);
    expect(text('OBR-4', second)).toEqual(['B']);
    expect(text('NTE-3', first)).toEqual(['note of order 1']);
    // The second order has no NTE: the header's note (before any ORC), not order 1's.
    expect(text('NTE-3', second)).toEqual(['patient-level note']);
    expect(text('PID-3', second)).toEqual(['MRN1']);
    const [obx1, obx2, obx3] = compileGroupPath('ORC/OBX')(root);
    expect(text('NTE-3', obx1)).toEqual(['note of obx 1']);
    // OBX 2 has no NTE of its own: its order's NTE (before the order's first OBX).
    expect(text('NTE-3', obx2)).toEqual(['note of order 1']);
    expect(text('OBR-2', obx3)).toEqual(['P-2']);
  });

  it('a message without the start segment has no groups', () => {
    const adt = parseHl7('MSH|^~\\&|HIS|CPH|HIE|COUNTY|20261103091500||ADT^A01|C2|P|2.5.1\rPID|1||M^^^^MR');
    expect(compileGroupPath('ORC')(messageGroup(adt))).toEqual([]);
  });
});

describe('groups with a lead segment ([ORC]RXA)', () => {
  const vxu = parseHl7(
    [
      'MSH|^~\\&|EPI|CPH|HIE|COUNTY|20261105103000||VXU^V04|V1|P|2.5.1',
      'PID|1||MRN1^^^CPH^MR',
      'ORC|RE||IMM-1',
      'RXA|0|1|20261105||08^HepB^CVX',
      'RXR|IM',
      'RXA|0|1|20261001||03^MMR^CVX',
      'OBX|1|CE|30963-3^Funding^LN||V01',
      'ORC|RE||IMM-3',
      'ORC|RE||IMM-4',
      'RXA|0|1|20260901||88^Flu^CVX',
    ].join('\r'),
  );
  const groups = compileGroupPath('[ORC]RXA')(messageGroup(vxu));

  it('open a group at each RXA, taking the ORC just before it; an ORC without RXA is a group of its own', () => {
    expect(groups.map((g) => [g.label, g.segments.map((s) => s.name).join(' ')])).toEqual([
      ['ORC[1]', 'ORC RXA RXR'],
      ['RXA[2]', 'RXA OBX'],
      ['ORC[2]', 'ORC'],
      ['ORC[3]', 'ORC RXA'],
    ]);
    expect(groups.map((g) => text('RXA-5.1', g))).toEqual([['08'], ['03'], [], ['88']]);
    // The RXA sent without ORC has no order number: not its neighbour's.
    expect(groups.map((g) => text('ORC-3', g))).toEqual([['IMM-1'], [], ['IMM-3'], ['IMM-4']]);
  });

  it('are written as HL7 writes an optional segment, and nothing else', () => {
    for (const bad of ['[ORC]', '[orc]RXA', '[ORC]]RXA', 'ORC]RXA'])
      expect(() => compileGroupPath(bad), bad).toThrow(/not a segment group/);
    expect(compileGroupPath('RXA')(messageGroup(vxu)).map((g) => g.label)).toEqual([
      'RXA[1]',
      'RXA[2]',
      'RXA[3]',
    ]);
  });
});
