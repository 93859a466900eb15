import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Synthea R4 bundles: 20 patients (transaction) plus hospital and practitioner lists (batch). */
export const SYNTHEA_DIR =
  process.env.BENCH_SYNTHEA_DIR ?? '/work/shared/fixtures/synthea/google-fhir-data-pipes-synthea-hiv';

export interface PatientTemplate {
  name: string;
  entries: number;
  /** The bundle text, with every Patient identifier marked for replacement. */
  text: string;
  /** The uuids of the bundle's own entries (fullUrls), replaced in every copy. */
  own: Set<string>;
}

export interface Fixtures {
  source: 'synthea' | 'synthetic';
  /** Provider batch bundles in load order (hospitals, then practitioners); empty for synthetic. */
  providers: { name: string; text: string; entries: number }[];
  patients: PatientTemplate[];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const COPY_MARK = '~COPY~';

export function loadFixtures(): Fixtures {
  if (!existsSync(SYNTHEA_DIR)) {
    console.log(
      `NOTE: ${SYNTHEA_DIR} is absent; ingest uses synthetic bundles (Patient + Encounters + Observations) instead.`,
    );
    return { source: 'synthetic', providers: [], patients: syntheticTemplates(20) };
  }
  const files = readdirSync(SYNTHEA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const read = (f: string) => readFileSync(path.join(SYNTHEA_DIR, f), 'utf8');
  const providers = [
    ...files.filter((f) => f.startsWith('hospitalInformation')),
    ...files.filter((f) => f.startsWith('practitionerInformation')),
  ].map((f) => {
    const text = read(f);
    return { name: f, text, entries: (JSON.parse(text).entry ?? []).length as number };
  });
  const patients = files
    .filter((f) => !f.startsWith('hospitalInformation') && !f.startsWith('practitionerInformation'))
    .map((f) => template(f.replace(/_[0-9a-f-]{36}\.json$/, ''), JSON.parse(read(f))));
  return { source: 'synthea', providers, patients };
}

/**
 * Marks a patient bundle for copying: Patient identifier values get a copy marker (so every copy is
 * a different person to identifier search), and the bundle's own uuids (fullUrls, ids, and the
 * Synthea identifiers equal to them) are replaced per copy. Conditional references to
 * Organization/Location/Practitioner keep their identifiers, so they resolve against the providers.
 */
function template(name: string, bundle: any): PatientTemplate {
  for (const e of bundle.entry ?? []) {
    if (e.resource?.resourceType !== 'Patient') continue;
    for (const id of e.resource.identifier ?? []) if (typeof id.value === 'string') id.value += COPY_MARK;
  }
  return withOwn(name, JSON.stringify(bundle));
}

function withOwn(name: string, text: string): PatientTemplate {
  const own = new Set<string>();
  for (const m of text.matchAll(/"fullUrl":"urn:uuid:([0-9a-f-]{36})"/g)) own.add(m[1]!);
  return { name, entries: own.size, text, own };
}

/** A fresh copy of a template: new uuids for the bundle's own resources, copy number in identifiers. */
export function copyBundle(t: PatientTemplate, copy: number): string {
  const fresh = new Map<string, string>();
  const mark = `-c${copy}`;
  return t.text.replaceAll(COPY_MARK, mark).replace(UUID, (u) => {
    if (!t.own.has(u)) return u;
    let v = fresh.get(u);
    if (!v) fresh.set(u, (v = randomUUID()));
    return v;
  });
}

/** Stand-in for Synthea when the fixtures are absent: same shape, no provider references. */
function syntheticTemplates(count: number): PatientTemplate[] {
  const out: PatientTemplate[] = [];
  for (let p = 0; p < count; p++) {
    const pid = randomUUID();
    const entries: any[] = [
      post(pid, {
        resourceType: 'Patient',
        identifier: [
          {
            // Not the resident-ID system: the search bench samples its own seeded residents by that.
            system: 'https://county-hie.org/fhir/sid/bench-mrn',
            value: `MRN${String(p).padStart(6, '0')}${COPY_MARK}`,
          },
        ],
        name: [{ family: '王', given: ['秀英'] }],
        gender: 'female',
        birthDate: '1980-01-01',
      }),
    ];
    for (let e = 0; e < 30; e++) {
      const eid = randomUUID();
      const day = `20${10 + (e % 14)}-0${1 + (e % 9)}-1${e % 10}`;
      entries.push(
        post(eid, {
          resourceType: 'Encounter',
          status: 'finished',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: `urn:uuid:${pid}` },
          period: { start: `${day}T08:00:00+08:00`, end: `${day}T08:30:00+08:00` },
        }),
      );
      for (let o = 0; o < 8; o++) {
        entries.push(
          post(randomUUID(), {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: `${2000 + o}-${o}` }] },
            subject: { reference: `urn:uuid:${pid}` },
            encounter: { reference: `urn:uuid:${eid}` },
            effectiveDateTime: `${day}T08:1${o}:00+08:00`,
            valueQuantity: {
              value: 4 + o / 10,
              unit: 'mmol/L',
              system: 'http://unitsofmeasure.org',
              code: 'mmol/L',
            },
          }),
        );
      }
    }
    out.push(
      withOwn(
        `synthetic-${p}`,
        JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }),
      ),
    );
  }
  return out;
}

function post(uuid: string, resource: Record<string, unknown>) {
  return { fullUrl: `urn:uuid:${uuid}`, resource, request: { method: 'POST', url: resource.resourceType } };
}
