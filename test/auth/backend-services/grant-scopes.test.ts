import { describe, expect, it } from 'vitest';
import { grantScopes } from '../../../src/auth/backend-services/grant-scopes.ts';

describe('grantScopes', () => {
  it('keeps system/ scopes in v2 form and drops everything else', () => {
    expect(grantScopes('system/*.cruds')).toEqual(['system/*.cruds']);
    expect(grantScopes('system/*.read system/Patient.write')).toEqual(['system/*.rs', 'system/Patient.cud']);
    expect(grantScopes('user/*.rs patient/*.rs openid launch fhirUser')).toEqual([]);
    expect(grantScopes('system/NotAType.rs system/Patient.xyz')).toEqual([]);
  });

  it('narrows letters to what is allowed, type by type', () => {
    expect(grantScopes('system/*.cruds', 'system/*.rs')).toEqual(['system/*.rs']);
    expect(grantScopes('system/Patient.cruds system/Observation.rs', 'system/Observation.cr')).toEqual([
      'system/Observation.r',
    ]);
    // A wildcard request is not granted from a single-type allowance: that would widen it.
    expect(grantScopes('system/*.r', 'system/Patient.r')).toEqual([]);
  });

  it('keeps a v2 query restriction (it narrows the grant) and removes duplicates', () => {
    expect(grantScopes('system/Observation.rs?category=laboratory system/*.rs system/*.read')).toEqual([
      'system/Observation.rs?category=laboratory',
      'system/*.rs',
    ]);
  });
});
