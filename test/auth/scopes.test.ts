import { describe, expect, it } from 'vitest';
import { parseScopes, requireScope, type Scope } from '../../src/auth/scopes.ts';
import type { AuthContext } from '../../src/auth/verify-token.ts';
import { OperationOutcomeError } from '../../src/kernel/outcomes.ts';

/** Scopes in a compact, comparable form: `context/Type.letters[?query]`. */
const show = (scopes: Scope[]) =>
  scopes.map(
    (s) => `${s.context}/${s.resourceType}.${[...s.letters].join('')}${s.query ? `?${s.query}` : ''}`,
  );

function authWith(scope: string, extra: Partial<AuthContext> = {}): AuthContext {
  return { issuer: 'i', subject: 's', scopes: parseScopes(scope), roles: new Set(), claims: {}, ...extra };
}

function denial(fn: () => void): OperationOutcomeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OperationOutcomeError);
    expect((e as OperationOutcomeError).status).toBe(403);
    return e as OperationOutcomeError;
  }
  throw new Error('expected a 403');
}

describe('parseScopes', () => {
  it('reads v2 scopes with any ordered subset of c r u d s', () => {
    expect(
      show(parseScopes('system/*.cruds user/Observation.rs patient/Patient.r user/Encounter.cud')),
    ).toEqual(['system/*.cruds', 'user/Observation.rs', 'patient/Patient.r', 'user/Encounter.cud']);
  });

  it('maps v1 read, write and * to v2 letters', () => {
    expect(show(parseScopes('user/Observation.read patient/*.write system/Patient.*'))).toEqual([
      'user/Observation.rs',
      'patient/*.cud',
      'system/Patient.cruds',
    ]);
  });

  it('keeps a v2 query restriction', () => {
    const [s] = parseScopes(
      'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
    );
    expect(s?.query).toBe('category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory');
    expect([...s!.letters]).toEqual(['r', 's']);
  });

  it('ignores non-clinical words and malformed scopes', () => {
    const text = [
      'openid',
      'fhirUser',
      'launch',
      'launch/patient',
      'offline_access',
      'user/Observation.sr', // letters out of order
      'user/Observation.rr', // repeated letter
      'user/Observation.', // no letters
      'user/Observation.x',
      'user/NotAType.rs', // not an R4 resource type
      'practitioner/*.rs', // unknown context
      'user/Observation.read?code=1', // v1 never had queries
      'user/Patient.rs',
    ].join(' ');
    expect(show(parseScopes(text))).toEqual(['user/Patient.rs']);
    expect(parseScopes('')).toEqual([]);
  });
});

describe('requireScope', () => {
  it('allows by exact type or by wildcard', () => {
    expect(() => requireScope(authWith('user/Observation.rs'), 'Observation', 's')).not.toThrow();
    expect(() => requireScope(authWith('user/*.rs'), 'Condition', 'r')).not.toThrow();
    expect(() => requireScope(authWith('system/*.cruds'), '*', 'c')).not.toThrow();
  });

  it('refuses a missing letter and names the scope that would allow it', () => {
    const e = denial(() => requireScope(authWith('user/Observation.r'), 'Observation', 's'));
    expect(e.outcome.issue[0]).toMatchObject({ code: 'forbidden' });
    expect(e.outcome.issue[0]?.diagnostics).toMatch(/needs user\/Observation\.s or system\/Observation\.s$/);
  });

  it('refuses another type', () => {
    denial(() => requireScope(authWith('user/Observation.cruds'), 'Patient', 'r'));
  });

  it('needs a wildcard scope for system-level interactions', () => {
    const e = denial(() => requireScope(authWith('system/Patient.cruds system/Observation.cruds'), '*', 's'));
    expect(e.outcome.issue[0]?.diagnostics).toMatch(
      /across all resource types: needs user\/\*\.s or system\/\*\.s/,
    );
  });

  it('counts patient scopes only when the token names a patient', () => {
    denial(() => requireScope(authWith('patient/*.rs'), 'Observation', 'r'));
    expect(() => requireScope(authWith('patient/*.rs', { patient: 'p1' }), 'Observation', 'r')).not.toThrow();
    const e = denial(() => requireScope(authWith('patient/*.rs', { patient: 'p1' }), 'Observation', 'c'));
    expect(e.outcome.issue[0]?.diagnostics).toMatch(
      /needs patient\/Observation\.c, user\/Observation\.c or system\/Observation\.c/,
    );
  });

  it('does not let a query-restricted scope grant the whole type while queries are not enforced', () => {
    denial(() => requireScope(authWith('user/Observation.rs?category=laboratory'), 'Observation', 'r'));
  });

  it('refuses a token with no clinical scope at all', () => {
    denial(() => requireScope(authWith('openid fhirUser'), 'Patient', 'r'));
  });
});
