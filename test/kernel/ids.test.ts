import { describe, expect, it } from 'vitest';
import { isFhirId, uuidv7 } from '../../src/kernel/ids.ts';

describe('UUIDv7', () => {
  it('is a version-7, variant-1 UUID carrying the given millisecond', () => {
    const id = uuidv7(Date.UTC(2026, 10, 22));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2026, 10, 22));
    expect(isFhirId(id)).toBe(true);
  });

  it('increases strictly within one process, even many per millisecond', () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7());
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
