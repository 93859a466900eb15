import express, { type Router } from 'express';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
  /**
   * A stage still under way (the demo county load): while it says `ready: false`, `/readyz`
   * answers 503 with its `status` and shows `detail` under the check's name.
   */
  progress?: () => { ready: boolean; status: string; detail: unknown };
}

/**
 * `/healthz`: the process answers (liveness). `/readyz`: every dependency answers, with a
 * JSON body naming each check so an operator sees which one is down (readiness).
 * `extra` lets later stages report progress (the demo load) while not ready.
 */
export function healthRoutes(
  checks: ReadinessCheck[],
  extra?: () => Promise<{ ready: boolean; detail: unknown }>,
): Router {
  const r = express.Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      checks.map(async (c) => {
        try {
          await withTimeout(c.check(), 2_000);
          results[c.name] = 'ok';
        } catch (err) {
          ready = false;
          results[c.name] = `unavailable: ${(err as Error).message}`;
        }
      }),
    );
    let status: string | undefined;
    const stages: Record<string, unknown> = {};
    for (const c of checks) {
      const p = c.progress?.();
      if (!p || p.ready) continue;
      if (ready) status ??= p.status;
      ready = false;
      stages[c.name] = p.detail;
    }
    const more = extra ? await extra() : undefined;
    if (more && !more.ready) ready = false;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : (status ?? 'not-ready'),
      checks: results,
      ...stages,
      ...(more ? { detail: more.detail } : {}),
    });
  });
  return r;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
