import path from 'node:path';
import { readRuntimeStatus } from '../app/runtime-file.ts';
import { loadGenerator } from '../demo/load/generator.ts';
import { todayInChina } from '../demo/load/state.ts';
import { DEMO_SEED } from '../demo/load/demo-load.ts';
import { manifestFiles, ManifestError, readManifest } from '../demo/send/manifest.ts';
import { InstitutionTokens } from '../demo/send/institution-token.ts';
import { progressPrinter } from '../demo/send/progress.ts';
import { sendDemoDirectory, type SendReport } from '../demo/send/sender.ts';
import { waitUntilFinal, type ArchiveCounts } from '../demo/send/wait.ts';
import { readInstitutionKey } from '../institutions/institution-keys.ts';
import { parseCommandArgs } from './args.ts';
import { CliError, UsageError, processIo, type CliIo } from './cli-errors.ts';
import { cliSettings } from './institutions-command.ts';

export const DEMO_USAGE = `hie demo generate --out <dir> [--residents <n>] [--seed <text>] [--as-of <YYYY-MM-DD>] [--json]
  writes the demo county's messages (HL7 v2, CSV, JSON, FHIR), manifest.json and ground-truth/;
  defaults: 200 residents, seed "${DEMO_SEED}", as-of today (+08:00). Same seed and date, same bytes.
hie demo send <dir> [--json] [--wait] [--concurrency <n>]
  sends a generated directory through the running gateway, each institution with its key from
  $HIE_DATA_DIR/keys/institutions; --wait also waits until every message is stored or failed.
  Exit 1 when an answer differs from the manifest (a good message refused, a bad one not refused as stated).`;

const OPTIONS = {
  out: { type: 'string' },
  residents: { type: 'string' },
  seed: { type: 'string' },
  'as-of': { type: 'string' },
  json: { type: 'boolean' },
  wait: { type: 'boolean' },
  concurrency: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

/** `hie demo generate|send`. */
export async function demoCommand(
  args: string[],
  io: CliIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const [action, ...rest] = positionals;
  const only = (allowed: (keyof Values)[]) => {
    for (const name of Object.keys(values) as (keyof Values)[])
      if (!allowed.includes(name)) throw new UsageError(`hie demo ${action} takes no --${name}`);
  };
  if (action === 'generate') {
    only(['out', 'residents', 'seed', 'as-of', 'json']);
    if (rest.length > 0) throw new UsageError('hie demo generate takes no arguments (use --out <dir>)');
    return generate(values, io);
  }
  if (action === 'send') {
    only(['json', 'wait', 'concurrency']);
    if (rest.length !== 1) throw new UsageError('hie demo send takes one directory');
    return send(rest[0]!, values, io, env);
  }
  throw new UsageError(action === undefined ? 'generate or send?' : `unknown action "${action}"`);
}

async function generate(values: Values, io: CliIo): Promise<number> {
  if (values.out === undefined) throw new UsageError('--out <dir> is required');
  const residents = whole(values.residents, 200, 1, 1_000_000, '--residents');
  const seed = values.seed ?? DEMO_SEED;
  if (seed.trim() === '') throw new CliError('--seed must not be empty');
  const asOf = values['as-of'] ?? todayInChina();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`)))
    throw new CliError(`--as-of must be a date YYYY-MM-DD, got "${asOf}"`);
  const out = path.resolve(values.out);
  const generateDemoCounty = await loadGenerator();
  const manifest = await generateDemoCounty({ residents, seed, asOf }, out);
  const summary = {
    out,
    seed,
    asOf,
    residents,
    files: manifestFiles(manifest).length,
    messages: manifest.totals.messages,
    expectedFailures: manifest.expectedFailures.length,
  };
  if (values.json) io.out(JSON.stringify(summary) + '\n');
  else
    io.out(
      `wrote ${summary.messages} messages in ${summary.files} files (${summary.expectedFailures} deliberately bad) to ${out}\n` +
        `send them with: npx hie demo send ${values.out}\n`,
    );
  return 0;
}

async function send(dir: string, values: Values, io: CliIo, env: Record<string, string | undefined>) {
  const concurrency = whole(values.concurrency, 4, 1, 64, '--concurrency');
  let manifest;
  try {
    manifest = await readManifest(dir);
  } catch (err) {
    if (err instanceof ManifestError) throw new CliError(err.message);
    throw err;
  }
  const { publicUrl, dataDir, config } = await cliSettings(env, io);
  const runtime = await readRuntimeStatus(dataDir);
  const mllpPort = runtime?.running ? runtime.info.mllpPort : config.mllpPort;
  const keyOf = async (id: string) => {
    const key = await readInstitutionKey(dataDir, id);
    if (!key)
      throw new CliError(
        `no key for ${id} in ${dataDir}/keys/institutions: run \`hie institutions rotate-key ${id}\` first`,
      );
    return key.privateKeyPem;
  };
  const printer = progressPrinter({
    write: io.err,
    isTTY: io === processIo && process.stderr.isTTY === true,
  });
  let report: SendReport;
  try {
    report = await sendDemoDirectory(dir, manifest, {
      publicUrl,
      mllp: { host: '127.0.0.1', port: mllpPort },
      keyOf,
      concurrency,
      onProgress: printer.update,
    });
  } finally {
    printer.done();
  }

  let archive: (ArchiveCounts & { stored: number }) | undefined;
  if (values.wait) {
    // Each institution lists its own messages: no administrator token needed.
    const tokens = new InstitutionTokens(publicUrl, keyOf);
    const counts = await waitUntilFinal({
      publicUrl,
      institutions: [...new Set(manifestFiles(manifest).map((f) => f.institution))],
      bearer: (id) => tokens.get(id),
      since: new Date(Date.parse(report.startedAt) - 1000).toISOString(),
    });
    archive = { ...counts, stored: Math.max(0, report.sent - report.skipped - counts.failed) };
  }

  const { answers: _answers, ...summary } = report;
  const result = { ...summary, ...(archive ? { archive } : {}) };
  if (values.json) io.out(JSON.stringify(result) + '\n');
  else {
    io.out(
      `sent ${report.sent}/${report.total} messages in ${(report.elapsedMs / 1000).toFixed(1)} s (${report.rate.toFixed(1)} msg/s): ` +
        `${report.accepted} accepted, ${report.refused} refused (${report.expectedFailures} of ${manifest.expectedFailures.length} deliberately bad ones as expected)\n`,
    );
    if (archive) io.out(`final: ${archive.stored} stored, ${archive.failed} failed\n`);
    for (const m of report.mismatches)
      io.out(
        `MISMATCH ${m.path}#${m.index} (${m.institution}${m.controlId ? `, ${m.controlId}` : ''}): expected ${m.expected}, got ${m.answer}${m.detail ? ` — ${m.detail}` : ''}\n`,
      );
  }
  return report.mismatches.length > 0 ? 1 : 0;
}

function whole(text: string | undefined, fallback: number, min: number, max: number, what: string): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new CliError(`${what} must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
}
