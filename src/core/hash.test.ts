import { describe, expect, it } from 'vitest';
import { floatsHash, textHash } from './hash';

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

describe('floatsHash', () => {
  it('hashes exactly the bits of the view: equal arrays agree, any changed value or window differs', () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
    expect(floatsHash(values)).toBe(floatsHash(Float32Array.from(values)));
    expect(floatsHash(values)).toMatch(/^[0-9a-f]{16}$/);
    const nudged = Float32Array.from(values);
    nudged[40] = Math.fround(nudged[40]! + 1e-7);
    expect(nudged[40]).not.toBe(values[40]);
    expect(floatsHash(nudged)).not.toBe(floatsHash(values));
    expect(floatsHash(values.subarray(1))).not.toBe(floatsHash(values));
    expect(floatsHash(values.subarray(8, 16))).toBe(floatsHash(Float32Array.from(values.subarray(8, 16))));
  });

  it('has no collision over 20,000 one-value changes of the same matrix', () => {
    const base = Float32Array.from({ length: 2000 }, (_, i) => Math.cos(i));
    const hashes = new Set(
      Array.from({ length: 20_000 }, (_, i) => {
        const changed = Float32Array.from(base);
        changed[i % 2000] = i;
        return floatsHash(changed);
      }),
    );
    expect(hashes.size).toBe(20_000);
  });
});
