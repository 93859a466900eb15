import { forbidden } from '../kernel/outcomes.ts';
import { loadFhirModel } from '../repository/fhir-model.ts';
import type { AuthContext } from './verify-token.ts';

export type ScopeContext = 'patient' | 'user' | 'system';
export type ScopeLetter = 'c' | 'r' | 'u' | 'd' | 's';

/** One SMART clinical scope, always in v2 form (v1 scopes are translated on parsing). */
export interface Scope {
  context: ScopeContext;
  /** An R4 resource type, or `*`. */
  resourceType: string;
  letters: Set<ScopeLetter>;
  /**
   * The v2 `?param=value` restriction, kept verbatim (without the `?`). Not enforced yet, so a
   * restricted scope grants nothing in `requireScope` (failing closed rather than granting
   * the whole type).
   */
  query?: string;
}

const LETTER_NAMES: Record<ScopeLetter, string> = {
  c: 'create',
  r: 'read',
  u: 'update',
  d: 'delete',
  s: 'search',
};

/** SMART v1 permissions in v2 letters (App Launch 2.0, "Scopes for requesting clinical data"). */
const V1: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };

// v2 letters must appear in the order c r u d s, each at most once; the lookahead forbids an
// empty set. The query part is anything after `?`.
const SCOPE =
  /^(patient|user|system)\/(\*|[A-Za-z]+)\.(?:(read|write|\*)|(?=[cruds])(c?r?u?d?s?))(?:\?(.+))?$/;

/**
 * Reads a space-separated `scope` claim. Words that are not clinical scopes (`openid`, `launch`,
 * `fhirUser`, `offline_access`…) and malformed or unknown-type scopes are ignored: they grant
 * nothing, and ignoring them keeps tokens from other issuers usable.
 */
export function parseScopes(text: string): Scope[] {
  const out: Scope[] = [];
  for (const word of text.split(/\s+/)) {
    const m = SCOPE.exec(word);
    if (!m) continue;
    const [, context, resourceType, v1, v2, query] = m;
    if (!context || !resourceType) continue;
    if (resourceType !== '*' && !loadFhirModel().isResourceType(resourceType)) continue;
    // v1 scopes never carried a query; a v1 word with one is not a valid scope.
    if (v1 !== undefined && query !== undefined) continue;
    const letters = v1 !== undefined ? V1[v1] : v2;
    if (!letters) continue;
    const scope: Scope = {
      context: context as ScopeContext,
      resourceType,
      letters: new Set(letters.split('') as ScopeLetter[]),
    };
    if (query !== undefined) scope.query = query;
    out.push(scope);
  }
  return out;
}

/**
 * Throws 403 unless a scope of the token allows `letter` on `resourceType`. `*` stands for a
 * system-level interaction (search across types, transaction) and needs a wildcard scope.
 * Patient-context scopes count only when the token names a patient; which resources that
 * patient may see is the access policy's business, not the scope check's.
 */
export function requireScope(auth: AuthContext, resourceType: string, letter: ScopeLetter): void {
  const allowed = auth.scopes.some(
    (s) =>
      s.letters.has(letter) &&
      s.query === undefined &&
      (s.resourceType === '*' || s.resourceType === resourceType) &&
      (s.context !== 'patient' || auth.patient !== undefined),
  );
  if (allowed) return;
  const contexts: ScopeContext[] =
    auth.patient !== undefined ? ['patient', 'user', 'system'] : ['user', 'system'];
  const names = contexts.map((c) => `${c}/${resourceType}.${letter}`);
  const needs = names.length > 2 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join(' or ');
  const what = resourceType === '*' ? 'across all resource types' : `on ${resourceType}`;
  throw forbidden(`The token's scopes do not allow ${LETTER_NAMES[letter]} ${what}: needs ${needs}`);
}
