import { cpuMeter } from '../support/machine.ts';
import type { ServerProcess } from '../support/server-process.ts';
import { round, runPool, summarize, type LatencySummary } from '../support/stats.ts';
import { copyBundle, type Fixtures, type PatientTemplate } from './fixtures.ts';

export interface ProviderResult {
  name: string;
  entries: number;
  created: number;
  seconds: number;
  entriesPerSecond: number;
}

export interface IngestResult {
  clients: number;
  bundles: number;
  resources: number;
  failedBundles: number;
  seconds: number;
  resourcesPerSecond: number;
  bundleMs: LatencySummary;
  machineCpuBusyPct: number;
  serverCpuSeconds: number;
}

/** `return=minimal`: the client wants ids and statuses, not 1,000 resources echoed back. */
const MINIMAL = { prefer: 'return=minimal' };

/** Hospitals and practitioners first: patient bundles refer to them by conditional reference. */
export async function loadProviders(server: ServerProcess, fixtures: Fixtures): Promise<ProviderResult[]> {
  const out: ProviderResult[] = [];
  for (const p of fixtures.providers) {
    const reply = await server.http.request('POST', server.fhirUrl, p.text, MINIMAL);
    if (reply.status !== 200) throw new Error(`${p.name}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`);
    const seconds = reply.ms / 1000;
    const created = countStatus(reply.body, '201');
    out.push({
      name: p.name,
      entries: p.entries,
      created,
      seconds: round(seconds),
      entriesPerSecond: round(p.entries / seconds, 0),
    });
  }
  return out;
}

/**
 * `bundles` fresh copies of the patient bundles POSTed by `clients` parallel clients, each
 * sending its next bundle as soon as the previous one is answered (closed loop, as k6 VUs do).
 * Copies are made before the clock starts so the load generator spends its CPU on sending only.
 */
export async function ingestLevel(
  server: ServerProcess,
  templates: PatientTemplate[],
  clients: number,
  bundles: number,
  firstCopy: number,
): Promise<IngestResult> {
  const bodies = Array.from({ length: bundles }, (_, i) =>
    copyBundle(templates[i % templates.length]!, firstCopy + i),
  );
  const before = await server.usage();
  const busy = cpuMeter();
  const started = performance.now();
  let firstError: string | undefined;
  const results = await runPool(bundles, clients, async (i) => {
    const sent = performance.now();
    // A lost connection is a failed bundle to report, not a reason to abandon the run.
    const reply = await server.http
      .request('POST', server.fhirUrl, bodies[i], MINIMAL)
      .catch((err: Error) => ({
        status: 0,
        body: `connection error: ${err.message}`,
        ms: performance.now() - sent,
      }));
    if (reply.status !== 200) {
      firstError ??= `HTTP ${reply.status}: ${reply.body.slice(0, 300)}`;
      return { ms: reply.ms, created: 0, ok: false };
    }
    return { ms: reply.ms, created: countStatus(reply.body, '201'), ok: true };
  });
  const seconds = (performance.now() - started) / 1000;
  const machineCpuBusyPct = busy();
  const after = await server.usage();
  if (firstError) console.log(`    first failed bundle: ${firstError}`);
  const resources = results.reduce((n, r) => n + r.created, 0);
  return {
    clients,
    bundles,
    resources,
    failedBundles: results.filter((r) => !r.ok).length,
    seconds: round(seconds),
    resourcesPerSecond: round(resources / seconds, 0),
    bundleMs: summarize(results.filter((r) => r.ok).map((r) => r.ms)),
    machineCpuBusyPct,
    serverCpuSeconds: round(
      (after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6,
      1,
    ),
  };
}

/** Entries of a batch/transaction-response whose status starts with `code` ("201 Created"). */
function countStatus(responseText: string, code: string): number {
  const bundle = JSON.parse(responseText) as { entry?: { response?: { status?: string } }[] };
  return (bundle.entry ?? []).filter((e) => e.response?.status?.startsWith(code)).length;
}
