import { rm } from 'node:fs/promises';
import { adminClaims, issueToken } from '../../auth/issue-token.ts';
import type { SigningKey } from '../../auth/signing-key.ts';
import type { Config } from '../../config/load-config.ts';
import { readInstitutionKey } from '../../institutions/institution-keys.ts';
import type { Logger } from '../../kernel/logger.ts';
import { manifestFiles, readManifest } from '../send/manifest.ts';
import { sendDemoDirectory } from '../send/sender.ts';
import { archiveCounts, waitUntilFinal, type ArchiveCounts } from '../send/wait.ts';
import type { CountArchive } from './archive-query.ts';
import { loadGenerator, type GenerateDemoCounty } from './generator.ts';
import { countyDir, readDemoState, todayInChina, writeDemoState, type DemoLoadState } from './state.ts';

/** The seed of the county `npm start` loads: every data folder gets the same people. */
export const DEMO_SEED = 'county-hie';

/** What `/readyz` shows while the county loads. */
export interface DemoLoadProgress {
  state: 'waiting' | 'generating' | 'sending' | 'settling' | 'loaded' | 'failed';
  sent: number;
  total: number;
  /** Messages stored or failed (the others are still queued). */
  final: number;
  failed: number;
  expectedFailures: number;
  error?: string;
}

export interface DemoLoad {
  /**
   * Generates the county files now if this data folder has none yet (nothing else is needed for
   * that): `npm start` calls it while the embedded servers start, so the CPU-bound generation
   * overlaps their start-up instead of following it. Optional; `start` awaits it either way.
   */
  prepare(): Promise<void>;
  /**
   * Starts the load in the background (after the gateway, MLLP listener and worker are up);
   * `envPrefix` goes before the printed commands (`HIE_DATA_DIR=… ` for a non-default folder).
   */
  start(envPrefix?: string): void;
  /** Resolves when the load is loaded or failed (never rejects). */
  readonly done: Promise<void>;
  progress(): DemoLoadProgress;
  /** For `/readyz`: ready once loaded; until then the status and the progress to show. */
  readiness: {
    name: string;
    check: () => Promise<void>;
    progress: () => { ready: boolean; status: string; detail: unknown };
  };
  /** Stops sending (at shutdown); what was sent stays recorded for the next start. */
  stop(): Promise<void>;
}

export interface DemoLoadOptions {
  config: Config;
  logger: Logger;
  /** The data folder's signing key: the admin token that watches the archive until all is final. */
  signingKey: SigningKey;
  /** Defaults to `src/demo/generate.ts`. */
  generate?: GenerateDemoCounty;
  /** The load date at the first start (defaults to today in +08:00). */
  today?: () => string;
  /**
   * Counts queued and failed messages while the worker settles. Default: `GET /ingest/messages`
   * with an admin token; `npm start` passes `sqlArchiveCounts(db)`, which asks PostgreSQL once.
   */
  countArchive?: CountArchive;
  /** How often the archive is counted while settling (default 500 ms). */
  pollMs?: number;
}

/** Whether this configuration loads the demo county at start. */
export function demoLoadWanted(config: Config): boolean {
  return config.demoCounty === 'auto' && config.demoIssuer;
}

/**
 * The start-up load of the demo county: generate it once into `$HIE_DATA_DIR/demo/county/`, send
 * it through the real gateway with each institution's demo key, and wait until every message is
 * stored or failed. Progress is kept in `demo/state.json`, so a killed process resumes.
 */
export function createDemoLoad(opts: DemoLoadOptions): DemoLoad {
  const { config, logger } = opts;
  const progress: DemoLoadProgress = {
    state: 'waiting',
    sent: 0,
    total: 0,
    final: 0,
    failed: 0,
    expectedFailures: 0,
  };
  const abort = new AbortController();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let running: Promise<void> | undefined;
  let prefix = '';

  /** Reads (or starts) the state and generates the county when it is not on disk yet. */
  const prepareOnce = async (): Promise<DemoLoadState> => {
    const dataDir = config.dataDir;
    let state = await readDemoState(dataDir);
    if (state?.complete) return state;
    state ??= {
      format: 'county-hie-demo-load/1',
      seed: DEMO_SEED,
      residents: config.demoResidents,
      asOf: (opts.today ?? todayInChina)(),
      generated: false,
      doneFiles: [],
      complete: false,
    };
    await save(state);
    if (!state.generated) {
      progress.state = 'generating';
      logger.info(
        { residents: state.residents, asOf: state.asOf },
        'generating the demo county (first start of this data folder)',
      );
      const dir = countyDir(dataDir);
      // A half-written directory from a killed generation is thrown away, not trusted.
      await rm(dir, { recursive: true, force: true });
      const generate = opts.generate ?? (await loadGenerator());
      await generate({ residents: state.residents, seed: state.seed, asOf: state.asOf }, dir);
      state = { ...state, generated: true, doneFiles: [] };
      await save(state);
      progress.state = 'waiting';
    }
    return state;
  };
  let prepared: Promise<DemoLoadState> | undefined;
  const prepare = () => (prepared ??= prepareOnce());
  // One writer of the state file at a time, in the order of the changes.
  let saving = Promise.resolve();
  const save = (s: DemoLoadState) => (saving = saving.then(() => writeDemoState(config.dataDir, s)));

  const run = async () => {
    const dataDir = config.dataDir;
    let state = await prepare();
    if (state.complete) {
      const manifest = await readManifest(countyDir(dataDir)).catch(() => undefined);
      Object.assign(progress, {
        total: manifest?.totals.messages ?? 0,
        sent: manifest?.totals.messages ?? 0,
        final: manifest?.totals.messages ?? 0,
        expectedFailures: manifest?.expectedFailures.length ?? 0,
      });
      progress.state = 'loaded';
      logger.info({ completedAt: state.completedAt }, 'demo county already loaded in this data folder');
      announce(config.publicUrl, prefix, logger);
      return;
    }
    const dir = countyDir(dataDir);
    const manifest = await readManifest(dir);
    const files = manifestFiles(manifest);
    const institutions = [...new Set(files.map((f) => f.institution))];
    progress.total = files.reduce((n, f) => n + f.messages, 0);
    progress.expectedFailures = manifest.expectedFailures.length;
    progress.state = 'sending';
    const since = new Date(Date.now() - 1000).toISOString();
    logger.info(
      { messages: progress.total, resumed: state.doneFiles.length > 0 },
      state.doneFiles.length > 0 ? 'resuming the demo county load' : 'sending the demo county',
    );
    const done = new Set(state.doneFiles);
    const report = await sendDemoDirectory(dir, manifest, {
      publicUrl: config.publicUrl,
      mllp: { host: '127.0.0.1', port: config.mllpPort },
      keyOf: async (id) => {
        const key = await readInstitutionKey(dataDir, id);
        if (!key) throw new Error(`no demo key for ${id} in ${dataDir}/keys/institutions`);
        return key.privateKeyPem;
      },
      skipFiles: done,
      signal: abort.signal,
      onProgress: (p) => {
        progress.sent = p.sent;
        // Refusals are final at once; accepted messages become final in the worker.
        progress.failed = p.refused;
      },
      onFileDone: async (file) => {
        done.add(file.path);
        state = { ...state!, doneFiles: files.map((f) => f.path).filter((p) => done.has(p)) };
        await save(state);
      },
    });
    if (report.mismatches.length > 0)
      logger.warn(
        { mismatches: report.mismatches.slice(0, 20), count: report.mismatches.length },
        'demo county: some answers differ from what the manifest expects',
      );
    logger.info(
      { sent: report.sent, rate: Math.round(report.rate), refused: report.refused },
      'demo county sent; waiting for the worker',
    );

    progress.state = 'settling';
    const apply = (c: ArchiveCounts) => {
      progress.final = Math.max(0, progress.total - c.queued);
      progress.failed = Math.max(progress.failed, c.failed);
    };
    if (opts.countArchive) {
      await settleWith(opts.countArchive, institutions, since, apply, opts.pollMs ?? 500, abort.signal);
    } else {
      const admin = await issueToken(opts.signingKey, adminClaims(config.publicUrl), 3600);
      const watch = { publicUrl: config.publicUrl, institutions, bearer: async () => admin, since };
      apply(await archiveCounts(watch));
      await waitUntilFinal({ ...watch, timeoutMs: SETTLE_TIMEOUT_MS, onPoll: apply, signal: abort.signal });
    }
    progress.final = progress.total;
    state = { ...state, complete: true, completedAt: new Date().toISOString() };
    await save(state);
    progress.state = 'loaded';
    announce(config.publicUrl, prefix, logger);
  };

  return {
    done,
    prepare: async () => {
      await prepare();
    },
    start(envPrefix = '') {
      prefix = envPrefix;
      running ??= run()
        .catch((err: unknown) => {
          if (abort.signal.aborted) return;
          progress.state = 'failed';
          progress.error = (err as Error).message ?? String(err);
          logger.error(
            { err: progress.error },
            'the demo county load failed; it resumes at the next start (HIE_DEMO_COUNTY=off skips it)',
          );
        })
        .finally(resolveDone);
    },
    progress: () => ({ ...progress }),
    readiness: {
      name: 'demo',
      check: async () => undefined,
      progress: () => ({
        ready: progress.state === 'loaded',
        status: progress.state === 'failed' ? 'demo-load-failed' : 'loading-demo',
        detail: { ...progress },
      }),
    },
    async stop() {
      abort.abort();
      await running;
    },
  };
}

/** How long the worker may take to settle the county before the load is reported failed. */
const SETTLE_TIMEOUT_MS = 30 * 60_000;

/** Counts the archive until nothing of the load is queued (the worker stored or failed it all). */
async function settleWith(
  count: CountArchive,
  institutions: readonly string[],
  since: string,
  onPoll: (c: ArchiveCounts) => void,
  pollMs: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    signal.throwIfAborted();
    const counts = await count(institutions, since);
    onPoll(counts);
    if (counts.queued === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${counts.queued} demo messages still queued after 30 minutes`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The first look: where things are and how to get in. */
function announce(url: string, p: string, logger: Logger): void {
  logger.info(
    { fhirUrl: `${url}/fhir`, queues: `${url}/admin/queues`, metrics: `${url}/metrics` },
    [
      'the demo county is loaded:',
      `  FHIR base     ${url}/fhir`,
      `  queue board   ${url}/admin/queues`,
      `  metrics       ${url}/metrics`,
      'tokens:',
      `  ${p}npx hie token clinician --institution county-peoples-hospital`,
      `  ${p}npx hie token admin`,
    ].join('\n'),
  );
}
