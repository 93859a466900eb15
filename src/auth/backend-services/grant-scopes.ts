import { parseScopes, type Scope, type ScopeLetter } from '../scopes.ts';

const ORDER: ScopeLetter[] = ['c', 'r', 'u', 'd', 's'];

/** What a member institution's system may ever be granted. */
export const INSTITUTION_ALLOWED_SCOPES = 'system/*.cruds';

/**
 * The scopes granted for a request: each requested `system/` scope narrowed to what `allowed`
 * permits on its type, in SMART v2 form. Anything else (user/, patient/, openid, unknown types,
 * malformed words) is left out, as RFC 6749 §3.3 lets a server grant less than asked. The
 * caller refuses the request when nothing is left.
 */
export function grantScopes(requested: string, allowed: string = INSTITUTION_ALLOWED_SCOPES): string[] {
  const limits = parseScopes(allowed).filter((s) => s.context === 'system');
  const granted: string[] = [];
  for (const word of requested.split(/\s+/).filter(Boolean)) {
    const [scope] = parseScopes(word);
    if (!scope || scope.context !== 'system') continue;
    const letters = ORDER.filter((l) => scope.letters.has(l) && limits.some((lim) => permits(lim, scope, l)));
    if (letters.length === 0) continue;
    const text = `system/${scope.resourceType}.${letters.join('')}${scope.query === undefined ? '' : `?${scope.query}`}`;
    if (!granted.includes(text)) granted.push(text);
  }
  return granted;
}

/** A limit permits a letter on the requested type if it covers the type and carries no query of its own. */
function permits(limit: Scope, wanted: Scope, letter: ScopeLetter): boolean {
  return (
    limit.query === undefined &&
    limit.letters.has(letter) &&
    (limit.resourceType === '*' || limit.resourceType === wanted.resourceType)
  );
}
