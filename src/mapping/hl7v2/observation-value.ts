import { LosslessNumber } from 'lossless-json';
import type { Observation, Quantity } from 'fhir/r4';
import type { Hl7Segment } from '../../parse/hl7v2/index.ts';
import { codeable, knownOr } from './datatypes.ts';
import { fail, type MapState } from './state.ts';

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;

/**
 * HL7 NM text → the exact FHIR decimal text (a `LosslessNumber`, so `1.50` stays `1.50`):
 * a leading `+` and superfluous leading zeros go, `.5` → `0.5`, `5.` → `5`.
 */
export function decimal(text: string): LosslessNumber | undefined {
  const t = text.trim();
  if (!NUMBER.test(t)) return undefined;
  const [intPart = '', frac] = t.replace(/^\+/, '').split('.');
  const neg = intPart.startsWith('-');
  const int = intPart.replace(/^-/, '').replace(/^0+(?=\d)/, '') || '0';
  const s = (neg ? '-' : '') + int + (frac ? `.${frac}` : '');
  return new LosslessNumber(s === '-0' ? '0' : s);
}

/** OBX-6 → the unit part of a Quantity (UCUM code only when the sender says UCUM). */
export function unitOf(obx: Hl7Segment): Partial<Quantity> {
  const code = obx.get(6, 1);
  const text = obx.get(6, 2) || code;
  if (!code && !text) return {};
  const ucum = /^UCUM$/i.test(obx.get(6, 3));
  return { unit: text, ...(ucum && code ? { system: 'http://unitsofmeasure.org', code } : {}) };
}

type ObservationValue = Pick<
  Observation,
  'valueQuantity' | 'valueString' | 'valueCodeableConcept' | 'valueDateTime' | 'dataAbsentReason'
>;

/** OBX-5 by OBX-2. A NM that is not a number is a 102 error; unknown types a warning. */
export function observationValue(obx: Hl7Segment, st: MapState): ObservationValue {
  const type = obx.get(2).toUpperCase();
  const reps = obx.repetitions(5);
  if (reps.length === 0) return {};
  const first = obx.get(5);
  switch (type) {
    case 'NM': {
      const value = decimal(first);
      if (!value) throw fail(`OBX-5 "${first}" is not a number (OBX-2 is NM)`, obx.at(5, 1), '102');
      if (reps.length > 1) st.warn('OBX-5 repeats for a NM value: only the first is mapped', obx.at(5, 2));
      return { valueQuantity: { value: value as unknown as number, ...unitOf(obx) } };
    }
    case 'ST':
    case 'TX':
    case 'FT': {
      const text = reps.map((r) => r.get()).join('\n');
      return text ? { valueString: text } : {};
    }
    case 'CE':
    case 'CWE':
    case 'CNE': {
      const cc = codeable(
        reps[0],
        knownOr(() => st.localCodeSystem('obx-5')),
      );
      return cc ? { valueCodeableConcept: cc } : {};
    }
    case 'SN': {
      const [cmp, n1, sep, n2] = [1, 2, 3, 4].map((c) => obx.get(5, c));
      const value = decimal(n1 ?? '');
      if (!value) throw fail(`OBX-5 "${obx.raw(5)}" is not a structured number`, obx.at(5, 1, 2), '102');
      if (sep || n2) return { valueString: `${cmp}${n1}${sep}${n2}` };
      const comparator = cmp === '<' || cmp === '<=' || cmp === '>=' || cmp === '>' ? cmp : undefined;
      return {
        valueQuantity: {
          value: value as unknown as number,
          ...(comparator ? { comparator } : {}),
          ...unitOf(obx),
        },
      };
    }
    case 'DT':
    case 'TS':
    case 'DTM': {
      const t = st.time(obx, 5);
      return t ? { valueDateTime: t.dateTime } : {};
    }
    default:
      st.warn(
        `OBX-2 "${type}" is not supported by the built-in mapping: the value is left out`,
        obx.at(2),
        'not-supported',
      );
      return {
        dataAbsentReason: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'unsupported' },
          ],
        },
      };
  }
}

/** OBX-7 `3.5-5.5` → low/high with the result's unit; anything else is kept as text. */
export function referenceRange(obx: Hl7Segment): Observation['referenceRange'] {
  const text = obx.get(7);
  if (!text) return undefined;
  const m = /^\s*([+-]?[\d.]+)\s*-\s*([+-]?[\d.]+)\s*$/.exec(text);
  const low = m ? decimal(m[1]!) : undefined;
  const high = m ? decimal(m[2]!) : undefined;
  const unit = unitOf(obx);
  if (!low || !high) return [{ text }];
  return [
    {
      low: { value: low as unknown as number, ...unit },
      high: { value: high as unknown as number, ...unit },
      text,
    },
  ];
}
