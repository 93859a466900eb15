/**
 * The audit trail (CONTRACTS "Access, consent, audit"): BALP AuditEvents, the hash chain over
 * their RFC 8785 text, its head outside the database, the `/fhir` middleware and the verifier.
 */
export { canonicalJson } from './canonical-json.ts';
export {
  restAuditEvent,
  outcomeOfStatus,
  type AuditActor,
  type AuditOutcome,
  type PurposeOfUse,
  type RestAuditFacts,
  type RestInteraction,
} from './audit-event.ts';
export { AuditTrail, AUDIT_CHAIN_LOCK, type AppendedEvent, type AuditTrailOptions } from './audit-trail.ts';
export { chainHeadPath, readChainHead, writeChainHead, type ChainHead } from './chain-head.ts';
export { chainHash, GENESIS_HASH } from './chain-hash.ts';
export {
  auditMiddleware,
  auditEventReadOnly,
  maskQuery,
  type AuditHints,
  type AuditMiddlewareOptions,
} from './audit-middleware.ts';
export { verifyAuditChain, type ChainProblem, type ChainVerification } from './verify-chain.ts';
