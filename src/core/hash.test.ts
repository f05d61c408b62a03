import { describe, expect, it } from 'vitest';
import { textHash } from './hash';

describe('textHash', () => {
  it('is stable, 64-bit hex, and sensitive to any edit', () => {
    expect(textHash('The Hobbit')).toBe(textHash('The Hobbit'));
    expect(textHash('The Hobbit')).toMatch(/^[0-9a-f]{16}$/);
    expect(textHash('The Hobbit')).not.toBe(textHash('The Hobbit.'));
    expect(textHash('一部轻松的喜剧')).not.toBe(textHash('一部轻松的喜劇'));
  });

  it('has no collision over 20,000 similar texts', () => {
    const hashes = new Set(Array.from({ length: 20_000 }, (_, i) => textHash(`Book number ${i} by Author ${i % 97}`)));
    expect(hashes.size).toBe(20_000);
  });
});
