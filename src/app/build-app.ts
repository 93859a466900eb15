import type { MllpHandler } from '../ingest/mllp/index.ts';
import type { Registry } from 'prom-client';
import express, { type Express, type Response, type Router } from 'express';
import type { Config } from '../config/load-config.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../kernel/logger.ts';
import { BundleProcessor } from '../repository/bundle/bundle-processor.ts';
import { buildCapabilityStatement } from '../repository/capability-statement.ts';
import { loadFhirModel } from '../repository/fhir-model.ts';
import { fhirExpressRouter } from '../repository/http/fhir-express.ts';
import type { Authorize, Interaction } from '../repository/router/fhir-request.ts';
import { FhirRouter } from '../repository/router/fhir-router.ts';
import { FhirRepository } from '../repository/store/fhir-repository.ts';
import { authenticate } from '../auth/auth-middleware.ts';
import { requireScope } from '../auth/scopes.ts';
import { authRoutes, smartConfiguration } from '../auth/smart-configuration.ts';
import type { AuthContext } from '../auth/verify-token.ts';
import type { SigningKey } from '../auth/signing-key.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import { unauthorized } from '../kernel/outcomes.ts';
import { isLiveMappings } from '../mapping/live/index.ts';
import { mappingsRoutes, translateCapabilityOperation, translateOperation } from '../admin/index.ts';
import type { OperationHandler } from '../repository/router/fhir-router.ts';
import { knownProfiles, validateCapabilityOperations, validateOperation } from '../validate/index.ts';
import { errorHandler } from './http/error-handler.ts';
import { routeNotFound } from './http/not-found.ts';
import { refuseNulInUrl } from './http/url-guard.ts';
import { healthRoutes, type ReadinessCheck } from './http/health-routes.ts';
import { mountIngest, type IngestParts } from './ingest-http.ts';
import { createMetrics } from './http/metrics.ts';
import {
  accessRoutes,
  auditAccessRoutes,
  CallerAccess,
  callerOf,
  DecisionCache,
  guardIhePix,
  guardMatch,
  personOfRecord,
  personReadPolicy,
  policySettings,
} from '../access/index.ts';
import { AuditTrail, auditEventReadOnly, auditMiddleware, chainHeadPath } from '../audit/index.ts';
import { identityRoutes } from '../identity/http/identity-routes.ts';
import { createIdentityLinker } from '../identity/linker.ts';
import { loadMatchRules } from '../identity/match/rules.ts';
import { identityCapabilityOperations, identityOperations } from '../identity/operations/index.ts';
import { createIdentityWorkflow } from '../identity/workflow/identity-workflow.ts';
import { inProcessPatients } from '../identity/workflow/in-process-patients.ts';
import { PostgresInstitutionRegistry } from '../institutions/postgres-registry.ts';
import {
  everythingOperation,
  loadRecognitionList,
  summaryCapabilityOperations,
  summaryOperation,
  SummaryCache,
  type SummaryOperationDeps,
} from '../summary/index.ts';

export interface AppParts {
  config: Config;
  logger: Logger;
  db: Database;
  signingKey: SigningKey;
  verifier: TokenVerifier;
  version: string;
  /** The gateway (ingestion): absent in apps that serve the repository only. */
  ingest?: IngestParts;
  /** `POST /auth/token` (SMART Backend Services), given by whoever owns the registry. */
  tokenRouter?: Router;
  /** The process's Prometheus registry, when other parts (the worker) report into it too. */
  metricsRegistry?: Registry;
  /** Further readiness checks (Redis …) beside PostgreSQL. */
  readiness?: ReadinessCheck[];
}

export interface BuiltApp {
  app: Express;
  repo: FhirRepository;
  /** The audit trail; close it before the database pool (it writes the chain head). */
  audit: AuditTrail;
  /** The MLLP listener's handler, when the gateway is built (`ingest` given). */
  acceptMllp?: MllpHandler;
}

const ANONYMOUS = new Set([
  '/fhir/metadata',
  '/fhir/.well-known/smart-configuration',
  '/.well-known/smart-configuration',
  '/healthz',
  '/readyz',
  '/auth/token',
  // Public keys are public by nature; resource servers fetch them without a token.
  '/auth/jwks',
]);

/** Scope letter of each router interaction (SMART v2: c r u d s). */
const SCOPE_OF: Record<Interaction, 'c' | 'r' | 'u' | 'd' | 's'> = {
  create: 'c',
  read: 'r',
  vread: 'r',
  history: 'r',
  operation: 'r',
  update: 'u',
  patch: 'u',
  delete: 'd',
  search: 's',
};

/**
 * The composition root of the HTTP side: every part is built here from config and handed to
 * the parts that use it, so tests can build their own app on their own database.
 */
export function buildApp(parts: AppParts): BuiltApp {
  const { config, logger, db } = parts;
  const model = loadFhirModel();
  const baseUrl = `${config.publicUrl}/fhir`;
  const repo = new FhirRepository(db, model, baseUrl);
  const audit = new AuditTrail(db, repo, { headFile: chainHeadPath(config.dataDir), headEvery: 100, logger });
  // Identity's review workflow and FHIR operations (the worker links records; people decide here).
  const matchRules = loadMatchRules();
  const patients = inProcessPatients(repo);
  const identityLinker = createIdentityLinker({
    db,
    rules: matchRules,
    canonicalBase: config.canonicalBase,
    repository: patients,
    logger,
  });
  const institutionRegistry = parts.ingest?.registry ?? new PostgresInstitutionRegistry(db);
  const summaryDeps: SummaryOperationDeps = {
    db,
    baseUrl,
    canonicalBase: config.canonicalBase,
    institutions: (id) => institutionRegistry.get(id),
    recognition: loadRecognitionList(config.mutualRecognitionDays),
    policy: personReadPolicy(db, new DecisionCache(config.accessDecisionSeconds * 1000)),
    cache: new SummaryCache({
      ttlMs: config.summaryCacheSeconds * 1000,
      maxBytes: config.summaryCacheMb * 1024 * 1024,
    }),
  };
  const accessSettings = policySettings(config);
  // The profiles in profiles/ load now: a broken file stops start-up, naming it.
  knownProfiles();
  // Mappings that reload live also serve `ConceptMap/$translate` and the admin mapping routes.
  const live =
    parts.ingest?.mappings && isLiveMappings(parts.ingest.mappings) ? parts.ingest.mappings : undefined;
  const capability = buildCapabilityStatement(model, {
    publicUrl: config.publicUrl,
    version: parts.version,
    operations: [
      ...validateCapabilityOperations(model.resourceTypes),
      ...(live ? [translateCapabilityOperation()] : []),
      ...identityCapabilityOperations(config.canonicalBase),
      ...summaryCapabilityOperations(),
    ],
  });
  const router = new FhirRouter({
    repo,
    bundles: new BundleProcessor(repo, config.maxBundleEntries),
    capabilityStatement: () => capability,
    operations: new Map<string, OperationHandler>([
      ['$validate', validateOperation(model)],
      ...(live ? [['ConceptMap/$translate', translateOperation(live)] as [string, OperationHandler]] : []),
      ...guardIdentityOperations(
        identityOperations({
          db,
          rules: matchRules,
          canonicalBase: config.canonicalBase,
          repo,
          verifier: parts.verifier,
        }),
        (name, handler) =>
          name === 'Patient/$ihe-pix'
            ? guardIhePix(db, model, handler)
            : name === 'Patient/$match'
              ? guardMatch(db, handler)
              : handler,
      ),
      ['Patient/$summary', summaryOperation(summaryDeps)],
      ['Patient/$everything', everythingOperation(summaryDeps)],
    ]),
  });
  const metrics = createMetrics(parts.metricsRegistry);
  const app = express();
  app.disable('x-powered-by');
  // FHIR answers carry their own version ETags; hashing every large body (a summary) is waste.
  app.set('etag', false);
  app.set('trust proxy', false);
  app.use(metrics.middleware);
  app.use(refuseNulInUrl());
  app.use(healthRoutes([{ name: 'postgres', check: () => db.ping() }, ...(parts.readiness ?? [])]));
  const smart = smartConfiguration(config.publicUrl);
  app.get(['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration'], (_req, res) => {
    res.json(smart);
  });
  app.use(authRoutes(parts.signingKey));
  if (parts.tokenRouter) app.use(parts.tokenRouter);
  // Before authentication, so that refused requests (401) are audited too.
  app.use(auditMiddleware(audit, { logger, personOf: personOfRecord(db) }));
  app.use(auditAccessRoutes(audit));
  app.use(authenticate(parts.verifier, { anonymous: (req) => ANONYMOUS.has(req.path) }));
  app.use(metrics.router);
  app.use(auditEventReadOnly());
  app.use(accessRoutes({ db, settings: accessSettings, maxBodyBytes: config.maxBodyBytes }));
  app.use(
    identityRoutes({
      db,
      workflow: createIdentityWorkflow({ db, linker: identityLinker }),
      readPatient: patients.find,
      maxBodyBytes: config.maxBodyBytes,
    }),
  );
  if (live && parts.ingest) {
    app.use(
      mappingsRoutes({
        mappings: live,
        model,
        canonicalBase: config.canonicalBase,
        maxBodyBytes: config.maxBodyBytes,
        institutions: parts.ingest.registry,
        ...(parts.ingest.sensitivity ? { sensitivity: parts.ingest.sensitivity } : {}),
      }),
    );
  }
  const mllp = parts.ingest
    ? mountIngest(app, config, logger, model, parts.ingest, metrics.registry)
    : undefined;
  app.use(
    '/fhir',
    fhirExpressRouter({
      router,
      maxBodyBytes: config.maxBodyBytes,
      baseUrl,
      authorizeFor: (res) => scopeCheck(res),
      accessFor: async (req, res) => {
        const auth = res.locals.auth as AuthContext | undefined;
        if (!auth) return undefined;
        const access = new CallerAccess(
          { db, settings: accessSettings, canonicalBase: config.canonicalBase },
          callerOf(auth),
          new Date(),
          () => (res.locals.audit = { ...(res.locals.audit ?? {}), purposeOfUse: 'BTG' }),
          (person) => (res.locals.audit = { ...(res.locals.audit ?? {}), person }),
        );
        // Reads by id and person-wide operations decide exactly whether a grant was used; for
        // searches the audit says BTG whenever the clinician holds an unexpired grant.
        if (!decidesGrantItself(req.path) && (await access.holdsGrant())) access.usedBreakGlass();
        return access;
      },
    }),
  );
  app.use(routeNotFound());
  app.use(errorHandler(logger));
  return { app, repo, audit, ...(mllp ? { acceptMllp: mllp.acceptMllp } : {}) };
}

/** SMART scopes gate every interaction; the care-relationship policy comes on top later. */
function scopeCheck(res: Response): Authorize {
  const auth = res.locals.auth as AuthContext | undefined;
  return (resourceType, interaction) => {
    // Only /fhir/metadata is anonymous under /fhir, and it never asks; anything else without a token is refused.
    if (!auth) throw unauthorized('A bearer token is required', 'Bearer realm="county-hie"');
    requireScope(auth, resourceType ?? '*', SCOPE_OF[interaction]);
  };
}

/** Paths whose handler knows whether a break-the-glass grant opened them (read by id, $summary …). */
function decidesGrantItself(path: string): boolean {
  const parts = path.split('/').filter(Boolean);
  return (
    (parts.length === 2 && !parts[1]!.startsWith('$') && !parts[1]!.startsWith('_')) ||
    (parts.length >= 3 &&
      parts[2] !== undefined &&
      ['_history', '$summary', '$everything'].includes(parts[2]))
  );
}

/** Wraps the identity operations that show demographics in the access policy's guards. */
function guardIdentityOperations(
  ops: [string, OperationHandler][],
  guard: (name: string, handler: OperationHandler) => OperationHandler,
): [string, OperationHandler][] {
  return ops.map(([name, handler]) => [name, guard(name, handler)]);
}
