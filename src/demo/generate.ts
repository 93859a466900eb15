import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { byTime, loadDirectory, planCare, type DemoDirectory } from './care/index.ts';
import { createPopulation, registrationFor, seededRandom, type Population } from './population/index.ts';
import type {
  CareEvent,
  DemoFile,
  DemoManifest,
  ExpectedFailure,
  InstitutionWriter,
  Registration,
  RenderedFile,
} from './types.ts';
import {
  badFeedFiles,
  renderFamilyDoctorContractsCsv,
  renderFhirBundles,
  renderTownshipHisJson,
  renderVillageReferralsCsv,
  renderVillageVisitsCsv,
} from './writers/feeds/index.ts';
import { badHl7Files, createHl7v2RegistrationWriter, createHl7v2Writer } from './writers/hl7v2/index.ts';

export interface GenerateOptions {
  residents: number;
  seed: string;
  /** `YYYY-MM-DD`. */
  asOf: string;
}

const FORMAT = 'county-hie-demo/1';
const PHASES = {
  registrations: '1-registrations',
  care: '2-care',
  bad: '3-deliberately-bad',
} as const;

/**
 * Which of an institution's formats carries each event kind, most specific first: HL7 v2 for
 * visits and reports where the institution speaks it, the named CSV/JSON feeds, and FHIR for
 * whatever else a FHIR-speaking institution sends (the county hospital's referrals).
 */
const CARRIERS: Record<CareEvent['kind'], string[]> = {
  visit: ['hl7v2', 'csv:village-visits', 'json:township-his', 'fhir'],
  'lab-report': ['hl7v2', 'fhir'],
  'ecg-report': ['hl7v2', 'fhir'],
  'imaging-report': ['hl7v2', 'fhir'],
  'pathology-report': ['hl7v2', 'fhir'],
  referral: ['csv:village-referrals', 'json:township-his', 'fhir'],
  immunization: ['json:township-his', 'fhir'],
  contract: ['csv:family-doctor-contracts', 'fhir'],
};

function speaks(formats: readonly string[], carrier: string): boolean {
  return carrier === 'hl7v2'
    ? formats.includes('hl7v2-mllp') || formats.includes('hl7v2-http')
    : formats.includes(carrier);
}

/** The format that carries an event, or an error naming what the registry lacks. */
export function carrierOf(directory: DemoDirectory, e: CareEvent): string {
  const inst = directory.institution(e.institutionId);
  if (!inst) throw new Error(`event ${e.id}: ${e.institutionId} is not in the registry`);
  const carrier = CARRIERS[e.kind].find((c) => speaks(inst.formats, c));
  if (!carrier) throw new Error(`event ${e.id}: ${e.institutionId} has no format for ${e.kind} events`);
  return carrier;
}

function writers(directory: DemoDirectory): Record<string, InstitutionWriter> {
  return {
    hl7v2: createHl7v2Writer(directory),
    'csv:village-visits': renderVillageVisitsCsv,
    'csv:village-referrals': renderVillageReferralsCsv,
    'csv:family-doctor-contracts': renderFamilyDoctorContractsCsv,
    'json:township-his': renderTownshipHisJson,
    fhir: renderFhirBundles,
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with keys sorted at every level: the same data always gives the same bytes. */
export function stableJson(value: unknown, indent?: number): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort(compare)
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value), null, indent);
}

/** The county as events and registrations, before any file is written (also for tests). */
export function buildCounty(opts: GenerateOptions, directory: DemoDirectory = loadDirectory()) {
  const pop = createPopulation(opts);
  const events = planCare({
    residents: pop.residents,
    directory,
    seed: opts.seed,
    asOf: opts.asOf,
    random: seededRandom,
  });
  const registrations = registrationsFor(pop, directory, events);
  return { pop, events, registrations };
}

/** Each institution's registration of each person it has events for: institution → person → reg. */
function registrationsFor(
  pop: Population,
  directory: DemoDirectory,
  events: readonly CareEvent[],
): Map<string, Map<string, Registration>> {
  const out = new Map<string, Map<string, Registration>>();
  for (const e of events) {
    const regs = out.get(e.institutionId) ?? new Map<string, Registration>();
    out.set(e.institutionId, regs);
    if (regs.has(e.personId)) continue;
    const inst = directory.institution(e.institutionId)!;
    regs.set(e.personId, registrationFor(pop, pop.byId.get(e.personId)!, inst.id, inst.tier));
  }
  return out;
}

/**
 * Writes the demo county into `outDir`: `messages/` by phase (each institution's files in its
 * own formats), `manifest.json`, and `ground-truth/` (the residents and what each institution
 * has on file). Same seed, asOf and size → the same bytes.
 */
export async function generateDemoCounty(opts: GenerateOptions, outDir: string): Promise<DemoManifest> {
  await prepareDirectory(opts, outDir);
  const directory = loadDirectory();
  const { pop, events, registrations } = buildCounty(opts, directory);
  const write = writers(directory);

  // Phase 2: each institution's events, grouped by the format that carries them.
  const groups = new Map<string, CareEvent[]>();
  for (const e of events) {
    const key = `${e.institutionId}\u0000${carrierOf(directory, e)}`;
    const list = groups.get(key) ?? [];
    list.push(e);
    groups.set(key, list);
  }
  const care: RenderedFile[] = [];
  const hl7Only = new Map<string, CareEvent[]>();
  const fhirPersons = new Set<string>();
  for (const [key, list] of [...groups.entries()].sort(([a], [b]) => compare(a, b))) {
    const [institutionId, carrier] = key.split('\u0000') as [string, string];
    list.sort(byTime);
    care.push(
      ...write[carrier]!({
        institutionId,
        events: list,
        registrations: registrations.get(institutionId)!,
        folder: `messages/${PHASES.care}`,
      }),
    );
    if (carrier === 'hl7v2') hl7Only.set(institutionId, list);
    if (carrier === 'fhir') for (const e of list) fhirPersons.add(`${institutionId}\u0000${e.personId}`);
  }

  // Phase 1: the hospitals' patient index (ADT^A28 from each HIS, i.e. the MLLP senders; the
  // LIS and shared centres' ORUs carry their PID). Left out for a person the same institution
  // also sends as FHIR: that Patient is written by its logical id, which an earlier conditional
  // create would duplicate.
  const registrationWriter = createHl7v2RegistrationWriter(directory);
  const regFiles: RenderedFile[] = [];
  for (const [institutionId, list] of hl7Only) {
    if (!directory.institution(institutionId)!.formats.includes('hl7v2-mllp')) continue;
    const own = list.filter((e) => !fhirPersons.has(`${institutionId}\u0000${e.personId}`));
    if (own.length)
      regFiles.push(
        ...registrationWriter({
          institutionId,
          events: own,
          registrations: registrations.get(institutionId)!,
          folder: `messages/${PHASES.registrations}`,
        }),
      );
  }

  // Phase 3: deliberately bad messages, each with its reason.
  const bad = badMessages(directory, registrations, events);

  const phases = [
    { name: PHASES.registrations, files: regFiles },
    { name: PHASES.care, files: care },
    { name: PHASES.bad, files: bad.files },
  ].filter((p) => p.files.length > 0);
  const seen = new Set<string>();
  for (const f of phases.flatMap((p) => p.files)) {
    if (seen.has(f.path)) throw new Error(`two writers produced ${f.path}`);
    seen.add(f.path);
  }
  for (const p of phases) p.files.sort((a, b) => compare(a.path, b.path));

  for (const f of phases.flatMap((p) => p.files)) {
    const target = path.join(outDir, ...f.path.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, f.bytes);
  }
  await writeGroundTruth(outDir, pop, registrations, events);

  const expectedFailures = [...bad.failures].sort((a, b) => compare(a.path, b.path) || a.index - b.index);
  const manifest: DemoManifest = {
    format: FORMAT,
    seed: opts.seed,
    asOf: opts.asOf,
    residents: opts.residents,
    errorModel: pop.errorModelVersion,
    phases: phases.map((p) => ({ name: p.name, files: p.files.map(listing) })),
    expectedFailures,
    totals: {
      messages: phases.reduce((n, p) => n + p.files.reduce((m, f) => m + f.messages, 0), 0),
      expectedFailures: expectedFailures.length,
    },
  };
  await writeFile(path.join(outDir, 'manifest.json'), `${stableJson(manifest, 2)}\n`);
  return manifest;
}

function listing(f: RenderedFile): DemoFile {
  return {
    path: f.path,
    institution: f.institution,
    channel: f.channel,
    messages: f.messages,
    charset: f.charset,
  };
}

function badMessages(
  directory: DemoDirectory,
  registrations: Map<string, Map<string, Registration>>,
  events: readonly CareEvent[],
): { files: RenderedFile[]; failures: ExpectedFailure[] } {
  const folder = `messages/${PHASES.bad}`;
  const feeds = badFeedFiles(folder);
  // The HL7 ones come from an HTTP sender that has a patient with a national ID on file.
  const sender = directory.institutions
    .filter((i) => i.formats.includes('hl7v2-http') && i.facilityCodes.length > 0)
    .find((i) => [...(registrations.get(i.id)?.values() ?? [])].some((r) => r.nationalId));
  if (!sender) return feeds;
  const reg = [...registrations.get(sender.id)!.values()]
    .filter((r) => r.nationalId)
    .sort((a, b) => compare(a.personId, b.personId))[0]!;
  const last = events.filter((e) => e.institutionId === sender.id).at(-1)!;
  const hl7 = badHl7Files({
    folder,
    institution: { id: sender.id, facility: sender.facilityCodes[0]!, charset: sender.charset },
    registration: reg,
    time: last.time,
  });
  return { files: [...hl7.files, ...feeds.files], failures: [...hl7.failures, ...feeds.failures] };
}

async function writeGroundTruth(
  outDir: string,
  pop: Population,
  registrations: Map<string, Map<string, Registration>>,
  events: readonly CareEvent[],
): Promise<void> {
  const dir = path.join(outDir, 'ground-truth');
  await mkdir(dir, { recursive: true });
  const lines = (rows: unknown[]) => rows.map((r) => `${stableJson(r)}\n`).join('');
  const persons = [...pop.residents].sort((a, b) => compare(a.personId, b.personId));
  const regs = [...registrations.values()]
    .flatMap((m) => [...m.values()])
    .sort((a, b) => compare(a.personId, b.personId) || compare(a.institutionId, b.institutionId))
    .map((r) => ({
      personId: r.personId,
      institution: r.institutionId,
      mrn: r.mrn,
      errors: r.errors,
      registration: r,
    }));
  await writeFile(path.join(dir, 'persons.ndjson'), lines(persons));
  await writeFile(path.join(dir, 'registrations.ndjson'), lines(regs));
  await writeFile(path.join(dir, 'care-events.ndjson'), lines([...events]));
  await writeFile(path.join(dir, 'README.md'), GROUND_TRUTH_README);
}

const GROUND_TRUTH_README = `# Ground truth of the generated demo county

Nothing in this folder is sent to the exchange: it is what the messages were generated from, for
checking the identity matcher and the summaries against.

- \`persons.ndjson\`: one resident per line (the population's truth: name, sex, birth date, a valid
  national ID, household, phone, address, chronic conditions), by \`personId\`.
- \`registrations.ndjson\`: what each institution has on file for each resident it saw —
  \`personId\`, \`institution\`, \`mrn\`, \`errors\` (the error-model kinds applied to that copy) and
  the \`registration\` as the institution's messages carry it.
- \`care-events.ndjson\`: the care timeline the messages render, one event per line in time order.

\`../manifest.json\` lists the message files by phase and the deliberately bad messages with the
reason each must fail.
`;

/**
 * An empty or missing directory is fine; so is an earlier generation of the same seed, asOf
 * and size (its files are replaced). Anything else is refused rather than overwritten.
 */
async function prepareDirectory(opts: GenerateOptions, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const entries = await readdir(outDir);
  if (entries.length === 0) return;
  let earlier: Partial<DemoManifest> | undefined;
  try {
    earlier = JSON.parse(await readFile(path.join(outDir, 'manifest.json'), 'utf8')) as Partial<DemoManifest>;
  } catch {
    earlier = undefined;
  }
  const same =
    earlier?.format === FORMAT &&
    earlier.seed === opts.seed &&
    earlier.asOf === opts.asOf &&
    earlier.residents === opts.residents;
  if (!same) {
    throw new Error(
      `${outDir} is not empty and is not an earlier generation of seed "${opts.seed}", as-of ${opts.asOf}, ` +
        `${opts.residents} residents: choose an empty directory`,
    );
  }
  const known = new Set(['manifest.json', 'messages', 'ground-truth']);
  const strangers = entries.filter((e) => !known.has(e));
  if (strangers.length)
    throw new Error(
      `${outDir} holds files a generation did not write (${strangers.join(', ')}): choose an empty directory`,
    );
  for (const e of entries) await rm(path.join(outDir, e), { recursive: true, force: true });
}
