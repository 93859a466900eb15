export { accessRoutes, type AccessRoutesDeps } from './access-routes.ts';
export { auditAccessRoutes, type AccessAuditSink } from './access-audit.ts';
export { callerOf, PUBLIC_TYPES, type Caller, type CallerKind } from './caller.ts';
export { guardIhePix, guardMatch, restrictedAccess } from './guard-operations.ts';
export { decidePerson, type PersonDecision, type PersonRecords } from './person-decision.ts';
export { policySettings, type PolicySettings } from './policy-settings.ts';
export {
  CallerAccess,
  refusalText,
  type AccessDeps,
  type NoteBreakGlass,
  type NotePerson,
} from './request-access.ts';
export { isSensitive, sourceInstitution } from './resource-labels.ts';
export { visibleIfFor } from './visible-sql.ts';
export { personReadPolicy } from './summary-policy.ts';
export { personOfRecord } from './audit-person.ts';
export { DecisionCache } from './decision-cache.ts';
