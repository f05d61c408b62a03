import { describe, expect, it } from 'vitest';
import { embeddingOrder } from './catalog-index';

describe('embeddingOrder', () => {
  it('embeds the most popular window first, sorted by length inside it', () => {
    const n = 1200;
    const popularity = Float32Array.from({ length: n }, (_, i) => n - i); // index 0 most popular
    const length = (i: number) => (i * 7919) % 101;
    const order = embeddingOrder(
      Array.from({ length: n }, (_, i) => i),
      popularity,
      length,
    );
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    const firstWindow = order.slice(0, 512);
    expect(Math.max(...firstWindow)).toBe(511); // exactly the 512 most popular
    for (let i = 1; i < 512; i++) expect(length(firstWindow[i]!)).toBeGreaterThanOrEqual(length(firstWindow[i - 1]!));
  });
});
