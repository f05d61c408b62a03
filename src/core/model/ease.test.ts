import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { easeNeighbours, easeWeights, invertSpd, likeGram, NO_NEIGHBOUR } from './ease';
import { seededUniform } from '../random';

function randomSpd(n: number, seed: number): Float64Array {
  const random = seededUniform(seed);
  const m = Float64Array.from({ length: n * n }, () => random() * 2 - 1);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += m[i * n + k]! * m[j * n + k]!;
      a[i * n + j] = s;
    }
  return a;
}

const times = (a: Float64Array, b: Float64Array, n: number) => {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k]! * b[k * n + j]!;
      out[i * n + j] = s;
    }
  return out;
};

describe('invertSpd', () => {
  it('gives the inverse of symmetric positive-definite matrices (A·A⁻¹ = I)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 1000 }), (n, seed) => {
        const a = randomSpd(n, seed);
        const product = times(a, invertSpd(Float64Array.from(a), n), n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(product[i * n + j]!).toBeCloseTo(i === j ? 1 : 0, 8);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => invertSpd(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite/);
  });
});

describe('EASE', () => {
  // Three readers: 0 and 1 go together, 2 is liked alone, 3 with 0 once.
  const likes = [[0, 1], [0, 1], [1, 0, 3], [2], [2]];
  it('counts co-likes in the Gram matrix (each reader once per pair)', () => {
    const g = likeGram([...likes, [0, 0, 1]], 4);
    expect(Array.from(g.subarray(0, 4))).toEqual([4, 4, 0, 1]);
    expect(g[2 * 4 + 2]).toBe(2);
  });

  it('B has a zero diagonal and rebuilds the Gram matrix off the diagonal: ((G + λI)·B)_ij = G_ij for i ≠ j', () => {
    const n = 4;
    const lambda = 0.5;
    const g = likeGram(likes, n);
    const b = easeWeights(Float64Array.from(g), n, lambda);
    for (let i = 0; i < n; i++) expect(b[i * n + i]).toBe(0);
    const regularised = Float64Array.from(g, (v, k) => (k % (n + 1) === 0 ? v + lambda : v));
    const product = times(regularised, b, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) expect(product[i * n + j]!).toBeCloseTo(g[i * n + j]!, 9);
  });

  it("keeps each row's largest positive weights, best first, padding a short row", () => {
    const n = 4;
    const b = easeWeights(likeGram(likes, n), n, 0.5);
    const { ids, similarities } = easeNeighbours(b, n, 3);
    // Liking book 0 points at 1 first (co-liked by three readers), then 3; never at 2 (never co-liked).
    expect(Array.from(ids.subarray(0, 3))).toEqual([1, 3, NO_NEIGHBOUR]);
    expect(similarities[0]!).toBeGreaterThan(similarities[1]!);
    expect(similarities[1]!).toBeGreaterThan(0);
    // Book 2 was never liked with another: no neighbour at all.
    expect(Array.from(ids.subarray(6, 9))).toEqual([NO_NEIGHBOUR, NO_NEIGHBOUR, NO_NEIGHBOUR]);
    for (const s of similarities) expect(s).toBeLessThanOrEqual(1);
  });
});
