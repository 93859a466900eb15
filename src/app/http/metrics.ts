import type { RequestHandler, Router } from 'express';
import express from 'express';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics on one registry per app (so tests can build several apps). Route labels
 * are fixed names, never request paths, which would carry ids and explode cardinality.
 */
export interface AppMetrics {
  registry: Registry;
  middleware: RequestHandler;
  router: Router;
}

/** `registry`: shared with the worker when both run in one process (`npm start`). */
export function createMetrics(registry: Registry = new Registry()): AppMetrics {
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'hie_http_request_duration_seconds',
    help: 'HTTP request duration by route family, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () =>
      end({ route: routeFamily(req.path), method: req.method, status: String(res.statusCode) }),
    );
    next();
  };
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return { registry, middleware, router };
}

/** `/fhir/Patient/123` → `fhir:Patient`; keeps labels few and free of identifiers. */
function routeFamily(path: string): string {
  const [first, second] = path.split('/').filter(Boolean);
  if (first === 'fhir')
    return second && /^[A-Z][A-Za-z]+$/.test(second)
      ? `fhir:${second}`
      : `fhir:${second?.startsWith('$') ? second : 'system'}`;
  return first ?? 'root';
}
