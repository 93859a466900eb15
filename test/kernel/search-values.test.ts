import { describe, expect, it } from 'vitest';
import { escapeSearchValue, identifierCriteria } from '../../src/kernel/search-values.ts';
import { splitOr, splitEscaped } from '../../src/repository/search/param-values.ts';

describe('search values', () => {
  it('escapes what a search value reserves, so the repository reads back one key', () => {
    expect(escapeSearchValue('L-1,5|$x\\y')).toBe('L-1\\,5\\|\\$x\\\\y');
    const query = identifierCriteria('urn:oid:1.2|3', 'L-1,5');
    const value = new URLSearchParams(query).get('identifier')!;
    // One value (no "or"), a system and a code: what the repository's parser makes of it.
    expect(splitOr(value)).toHaveLength(1);
    expect(splitEscaped(value, '|')).toHaveLength(2);
  });

  it('leaves an ordinary identifier as it was', () => {
    expect(identifierCriteria('https://x.org/sid/mrn', 'M100')).toBe(
      'identifier=https%3A%2F%2Fx.org%2Fsid%2Fmrn|M100',
    );
  });
});
