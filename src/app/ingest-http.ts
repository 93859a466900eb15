import type { MllpHandler } from '../ingest/mllp/index.ts';
import type { Express, Router } from 'express';
import type { Registry } from 'prom-client';
import { createIngestMetrics } from '../pipeline/metrics.ts';
import type { Config } from '../config/load-config.ts';
import type { Inbox, InboundMessage } from '../inbox/types.ts';
import type { InstitutionRegistry } from '../institutions/types.ts';
import type { Logger } from '../kernel/logger.ts';
import { ingestRoutes } from '../ingest/http/ingest-routes.ts';
import { messagesRoutes } from '../ingest/http/messages-routes.ts';
import { processMessageRoute } from '../ingest/http/process-message-route.ts';
import { acceptFeed, feedEvaluator, type FeedStageParts } from '../pipeline/feed-stage.ts';
import { acceptFhir } from '../pipeline/fhir-stage.ts';
import type { MappingSet } from '../mapping/engine/index.ts';
import type { SensitivityRules } from '../mapping/sensitivity/index.ts';
import { keepRefused } from '../pipeline/refused-stage.ts';
import { createReplay, type Evaluate } from '../pipeline/replay.ts';
import type { IngestQueue } from '../queue/types.ts';
import type { FhirModel } from '../repository/fhir-model.ts';
import { hl7v2Edges } from './hl7v2-wiring.ts';

/** What the gateway needs beyond the repository; `npm start` builds these, tests build their own. */
export interface IngestParts {
  registry: InstitutionRegistry;
  inbox: Inbox;
  queue: IngestQueue;
  /** The sensitivity rule table, loaded at start. */
  sensitivity?: SensitivityRules;
  /** The mapping files (CSV/JSON feeds), loaded at start. */
  mappings?: MappingSet;
  /** Extra routers mounted before authentication-protected routes' handlers (e.g. bull-board). */
  adminRouters?: Router[];
}

/** Mounts `/ingest/…` and `/fhir/$process-message` (before the `/fhir` router). */
export function mountIngest(
  app: Express,
  config: Config,
  logger: Logger,
  model: FhirModel,
  ingest: IngestParts,
  registry: Registry,
): { acceptMllp: MllpHandler } {
  const stageParts: FeedStageParts = {
    ...(ingest.mappings ? { mappings: ingest.mappings } : {}),
    ...(ingest.sensitivity ? { sensitivity: ingest.sensitivity } : {}),
    inbox: ingest.inbox,
    queue: ingest.queue,
    model,
    logger,
    metrics: createIngestMetrics(registry, () => ingest.queue.depth()),
    canonicalBase: config.canonicalBase,
    institutionIds: async () => new Set((await ingest.registry.list()).map((i) => i.id)),
  };
  const hl7v2 = hl7v2Edges(stageParts, ingest.registry, config);
  const byId = (id: string) => ingest.registry.get(id);
  const evaluators: Partial<Record<InboundMessage['format'], Evaluate>> = {
    hl7v2: hl7v2.evaluate,
    csv: feedEvaluator(stageParts, byId, 'csv'),
    json: feedEvaluator(stageParts, byId, 'json'),
  };
  const replay = createReplay(stageParts, ingest.registry, evaluators);
  app.use(
    processMessageRoute({
      registry: ingest.registry,
      maxBodyBytes: config.maxBodyBytes,
      publicUrl: config.publicUrl,
      accept: (sub, body) => acceptFhir(stageParts, sub, body),
      refused: (sub, format, refused) => keepRefused(stageParts, sub, format, refused),
    }),
  );
  app.use(
    ingestRoutes({
      registry: ingest.registry,
      maxBodyBytes: config.maxBodyBytes,
      handlers: {
        fhir: (sub) => acceptFhir(stageParts, sub),
        feed: (sub, format) => acceptFeed(stageParts, sub, format),
        hl7v2: hl7v2.acceptHttp,
        refused: (sub, format, refused) => keepRefused(stageParts, sub, format, refused),
      },
    }),
  );
  app.use(messagesRoutes({ inbox: ingest.inbox, replay }));
  for (const r of ingest.adminRouters ?? []) app.use(r);
  return { acceptMllp: hl7v2.acceptMllp };
}
