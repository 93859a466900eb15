import type { ContactPoint, Identifier } from 'fhir/r4';
import { checkNationalId, NATIONAL_ID_SYSTEM } from '../../identity/national-id.ts';
import type { LoadedConceptMap } from './conceptmaps.ts';
import { ConversionError, toBoolean, toDate, toDateTime, toDecimal, toInteger, ucumUnit } from './convert.ts';
import type { Reader } from './paths.ts';
import { Hl7Value } from '../hl7v2-files/paths.ts';
import {
  chooseMrn,
  chooseNationalId,
  hl7Address,
  hl7CodeableConcept,
  hl7Attachment,
  hl7Decimal,
  hl7AttachmentLink,
  hl7ContactPoint,
  hl7DateTime,
  hl7HumanName,
  hl7Identifier,
} from '../hl7v2-files/conversions.ts';
import type { Hl7ErrorCode, Hl7Location } from '../types.ts';
import {
  fillTemplate,
  location,
  textOf,
  V2_0203,
  warning,
  type InputFormat,
  type Run,
  type Scope,
} from './run.ts';
import type { ValueSpec } from './values.ts';

/** One evaluation of a compiled value: where, for whom, and whether a conversion failed. */
export interface Call {
  readonly scope: Scope;
  readonly run: Run;
  readonly what: string;
  failed: boolean;
}

export function at(c: Call, where?: string): string {
  return location(c.run, c.scope, where);
}

export function fail(
  c: Call,
  text: string,
  where?: string,
  hl7?: Hl7Location & { code: Hl7ErrorCode },
): undefined {
  c.run.errors.push({ text: `${c.what}: ${text}`, expression: at(c, where), ...(hl7 ? { hl7 } : {}) });
  return undefined;
}

/** What a value's conversion reads besides the value itself (compiled with the value). */
export interface ConversionParts {
  format: InputFormat;
  conceptMap: LoadedConceptMap | undefined;
  unitReader: Reader | undefined;
  displayReader: Reader | undefined;
  /** Where problems are reported: the value's first (preferred) path. */
  firstPath: string | undefined;
}

/**
 * A value's `as` conversion (and its unit, display, ConceptMap), made once per compiled value; each
 * evaluation passes its `Call`. A ConversionError becomes an error at the value's place (HL7: 102,
 * the field's data type is wrong) and marks the call failed.
 */
export function compileConversion(
  spec: ValueSpec,
  { format, conceptMap, unitReader, displayReader, firstPath }: ConversionParts,
): (c: Call, v: unknown) => unknown {
  return guarded;

  function guarded(c: Call, v: unknown): unknown {
    try {
      return convert(c, v);
    } catch (err) {
      if (!(err instanceof ConversionError)) throw err;
      c.failed = true;
      if (!(v instanceof Hl7Value)) return fail(c, err.message, firstPath);
      return fail(c, err.message, readBy(v) ?? firstPath, { ...v.at, code: '102' });
    }
  }

  /** Which of the spec's paths read this value (`[EVN-6, EVN-2, MSH-7]` → `MSH-7` when EVN is empty). */
  function readBy(v: Hl7Value): string | undefined {
    const { segment, field } = v.at;
    return [spec.path ?? []]
      .flat()
      .find(
        (p) => p.startsWith(segment) && new RegExp(`^[A-Z0-9]{3}(?:\\[[^\\]]*\\])?-${field}(?!\\d)`).test(p),
      );
  }

  function convert(c: Call, v: unknown): unknown {
    if (v instanceof Hl7Value) return convertHl7(c, v);
    switch (spec.as) {
      case undefined:
        return v;
      case 'string':
      case 'code':
        return textOf(v);
      case 'integer':
        return toInteger(v);
      case 'decimal':
        return number(v);
      case 'boolean':
        return toBoolean(v);
      case 'date':
        if (format === 'hl7v2') return hl7DateTime(textOf(v), c.run.timezone, MSH1, 'date');
        return toDate(textOf(v));
      case 'instant':
        if (format === 'hl7v2') return hl7DateTime(textOf(v), c.run.timezone, MSH1, 'instant');
        throw new ConversionError('instant is for HL7 v2 input only');
      case 'dateTime':
        if (format === 'hl7v2') return hl7DateTime(textOf(v), c.run.timezone, MSH1, 'dateTime');
        return toDateTime(textOf(v), c.run.timezone);
      case 'Quantity':
        return quantity(c, v);
      case 'CodeableConcept':
        return codeableConcept(c, textOf(v));
      case 'Identifier':
        return { system: fillTemplate(spec.system!, c.run), value: textOf(v) };
      case 'nationalId':
        return nationalId(c, textOf(v));
      default:
        throw new ConversionError(`unknown conversion "${spec.as}"`);
    }
  }

  /** A value read by an HL7 path: composite types convert the whole field repetition. */
  function convertHl7(c: Call, v: Hl7Value): unknown {
    switch (spec.as) {
      case 'dateTime':
      case 'date':
      case 'instant':
        return hl7DateTime(v.text, c.run.timezone, v.at, spec.as);
      case 'CodeableConcept':
        return codeableOf(c, v);
      case 'Coding':
        return codeableOf(c, v)?.coding?.[0];
      case 'Attachment':
        return hl7Attachment(v);
      case 'AttachmentLink':
        return hl7AttachmentLink(v);
      case 'Identifier':
        return hl7Identifier(v, fillTemplate(spec.system!, c.run));
      case 'HumanName':
        return hl7HumanName(v);
      case 'Address':
        return hl7Address(v);
      case 'ContactPoint':
        return hl7ContactPoint(v, spec.use as ContactPoint['use']);
      case 'mrn':
        return chooseMrn(v);
      case 'nationalId': {
        const id = chooseNationalId(v);
        // The CX chosen is one of the field's repetitions: the warning names the field.
        const { segment, sequence, field } = v.at;
        return id === undefined ? undefined : nationalId(c, id, { segment, sequence, field, code: '102' });
      }
      default:
        return convert(c, v.text);
    }
  }

  function codeableOf(c: Call, v: Hl7Value) {
    return hl7CodeableConcept(
      v,
      {
        base: c.run.base,
        institution: c.run.institution,
        ...(spec.systems ? { systems: spec.systems } : {}),
        ...(spec.system ? { system: fillTemplate(spec.system, c.run) } : {}),
        ...(spec.table ? { table: spec.table } : {}),
        ...(conceptMap ? { conceptMap } : {}),
      },
      (code, hl7System) =>
        c.run.issues.push(
          warning(
            `${c.what}: local code "${code}"${hl7System ? ` (coding system "${hl7System}")` : ''} has no translation${conceptMap ? ` in ConceptMap ${conceptMap.id}` : ''}; kept with its local system`,
            at(c, firstPath),
            'code-invalid',
            { ...v.at, code: '103' },
          ),
        ),
    );
  }

  /** HL7 NM allows `+5`, `.5`, `05`: normalised to FHIR decimal text (kept exact). */
  function number(v: unknown) {
    if (format !== 'hl7v2') return toDecimal(v);
    const d = hl7Decimal(textOf(v));
    if (!d) throw new ConversionError(`"${textOf(v)}" is not a number`);
    return d;
  }

  function quantity(c: Call, v: unknown) {
    const value = number(v);
    const unitRaw = unitReader ? unitReader(c.scope.node) : spec.unit;
    if (unitRaw === undefined) return { value };
    const unit = textOf(unitRaw);
    const ucum = ucumUnit(unit);
    if (ucum.code) return { value, unit, system: 'http://unitsofmeasure.org', code: ucum.code };
    c.run.issues.push(
      warning(
        `${c.what}: ${ucum.problem}; kept as text`,
        at(c, spec.unitPath ?? firstPath),
        'code-invalid',
        unitRaw instanceof Hl7Value ? { ...unitRaw.at, code: '103' } : undefined,
      ),
    );
    return { value, unit };
  }

  function codeableConcept(c: Call, code: string) {
    const display = displayReader ? displayReader(c.scope.node) : undefined;
    const text = display === undefined ? undefined : textOf(display);
    const own = {
      system: spec.system
        ? fillTemplate(spec.system, c.run)
        : `${c.run.base}/CodeSystem/local/${c.run.institution}/${spec.table}`,
      code,
      ...(text ? { display: text } : {}),
    };
    if (spec.system) return { coding: [own], ...(text ? { text } : {}) };
    const translated = conceptMap?.translate(code) ?? [];
    if (translated.length === 0)
      c.run.issues.push(
        warning(
          `${c.what}: local code "${code}" (table ${spec.table}) has no translation${conceptMap ? ` in ConceptMap ${conceptMap.id}` : ''}; kept with its local system`,
          at(c, firstPath),
          'code-invalid',
        ),
      );
    return { coding: [...translated, own], ...(text ? { text } : {}) };
  }

  function nationalId(c: Call, value: string, hl7?: Hl7Location & { code: Hl7ErrorCode }): Identifier {
    const check = checkNationalId(value);
    const id: Identifier = {
      use: 'official',
      type: { coding: [{ system: V2_0203, code: 'NI' }] },
      system: NATIONAL_ID_SYSTEM,
      value: check.value,
    };
    if (!check.valid) {
      id.extension = [
        { url: `${c.run.base}/StructureDefinition/identifier-verification`, valueCode: 'unverified' },
      ];
      c.run.issues.push(
        warning(
          `${c.what}: national ID fails verification (${check.reason}); kept as unverified`,
          at(c, firstPath),
          'business-rule',
          hl7,
        ),
      );
    }
    return id;
  }
}

const MSH1: Hl7Location = { segment: 'MSH', sequence: 1 };
