import type { Server } from 'node:http';
import type { Logger } from '../kernel/logger.ts';

export interface Shutdown {
  /**
   * A cleanup step; steps run in reverse order of registration: last started, first stopped.
   * `beforeDrain` steps run before the HTTP server drains — for a client of this very server
   * (the in-process worker writes to our own /fhir): stopped after the drain, its requests would
   * keep the drain waiting and then be cut.
   */
  add(name: string, step: () => Promise<void>, opts?: { beforeDrain?: boolean }): void;
  /** The HTTP server: it stops accepting and drains before any step runs. */
  setServer(server: Server): void;
  /** Drains and runs every step once (later calls get the same promise). Errors are logged, not thrown. */
  run(reason: string): Promise<void>;
  /** SIGINT/SIGTERM/SIGHUP → run, then exit 0; a second signal exits at once with 1. */
  installSignalHandlers(): void;
}

export interface ShutdownOptions {
  logger: Logger;
  /** How long in-flight requests may take before their connections are cut. */
  drainMs?: number;
  /** How long one step may take before the shutdown goes on without it (default 30 s). */
  stepTimeoutMs?: number;
  exit?: (code: number) => void;
}

/** Defaults of the options above; a container's stop grace period must outlast them. */
export const DEFAULT_DRAIN_MS = 10_000;
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

export function createShutdown(opts: ShutdownOptions): Shutdown {
  const { logger } = opts;
  const drainMs = opts.drainMs ?? DEFAULT_DRAIN_MS;
  const stepTimeoutMs = opts.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const steps: { name: string; step: () => Promise<void> }[] = [];
  const early: { name: string; step: () => Promise<void> }[] = [];
  let server: Server | undefined;
  let running: Promise<void> | undefined;

  const run = (reason: string): Promise<void> => {
    running ??= (async () => {
      logger.info({ reason }, 'shutting down');
      await runSteps(early, logger, stepTimeoutMs);
      if (server) await drain(server, drainMs, logger);
      await runSteps(steps, logger, stepTimeoutMs);
      logger.info('shutdown complete');
    })();
    return running;
  };

  return {
    add: (name, step, o) => void (o?.beforeDrain ? early : steps).push({ name, step }),
    setServer: (s) => void (server = s),
    run,
    installSignalHandlers: () => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (running) {
          logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
          flushThenExit(logger, 1, exit);
          return;
        }
        void run(signal).then(() => flushThenExit(logger, 0, exit));
      };
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
    },
  };
}

/** Runs the steps last-registered first, each bounded in time; a failing step does not stop the rest. */
async function runSteps(
  list: { name: string; step: () => Promise<void> }[],
  logger: Logger,
  timeoutMs: number,
): Promise<void> {
  for (const { name, step } of [...list].reverse()) {
    let timer: NodeJS.Timeout | undefined;
    // A step waiting on a server that is gone (closing a BullMQ worker while Redis is down waits
    // for a reconnect that never comes) must not keep the later steps — stopping the embedded
    // servers — from running, nor the process from exiting.
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    try {
      if ((await Promise.race([step(), late])) === 'late') {
        logger.warn({ step: name, afterMs: timeoutMs }, 'shutdown step did not finish in time: going on');
      }
    } catch (err) {
      // Keep going: a pool that fails to close must not leave PostgreSQL running.
      logger.error({ err: (err as Error).message, step: name }, 'shutdown step failed');
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Stops accepting, lets in-flight requests finish (idle keep-alive sockets close at once), and
 * after `ms` cuts whatever is still open so a slow client cannot hold the shutdown.
 */
async function drain(server: Server, ms: number, logger: Logger): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  if ((await Promise.race([closed, late])) === 'late') {
    logger.warn({ afterMs: ms }, 'requests still open after the drain period: closing their connections');
    server.closeAllConnections();
    await closed;
  }
  clearTimeout(timer);
}

/** pino writes asynchronously; flush so the last lines (why we stopped) are not lost. */
export function flushThenExit(
  logger: Logger,
  code: number,
  exit: (code: number) => void = (c) => process.exit(c),
): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    exit(code);
  };
  // A destination that never answers must not keep the process alive.
  setTimeout(once, 1_000).unref();
  try {
    logger.flush(once);
  } catch {
    once();
  }
}
