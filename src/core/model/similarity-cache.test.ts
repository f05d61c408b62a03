import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededUniform } from '../random';
import { onlineStep } from './bpr';
import { HybridModel } from './hybrid';
import { rankFeed, type FeedRequest } from './ranking';
import { SimilarityCache } from './similarity-cache';

function unitRows(count: number, dim: number, seed: number): Float32Array {
  const uniform = seededUniform(seed);
  const rows = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    let norm = 0;
    for (let t = 0; t < dim; t++) norm += (rows[i * dim + t] = uniform() - 0.5) ** 2;
    for (let t = 0; t < dim; t++) rows[i * dim + t]! /= Math.sqrt(norm);
  }
  return rows;
}

const dot = (rows: Float32Array, dim: number, a: number, b: number) => {
  let sum = 0;
  for (let t = 0; t < dim; t++) sum += rows[a * dim + t]! * rows[b * dim + t]!;
  return sum;
};

describe('SimilarityCache', () => {
  it('answers e_a·e_b in either order, computes each pair once, and recomputes rows it was told changed', () => {
    const rows = unitRows(6, 4, 3);
    const cache = new SimilarityCache(rows, 4);
    expect(cache.between(1, 4)).toBeCloseTo(dot(rows, 4, 1, 4), 6);
    expect(cache.between(4, 1)).toBe(cache.between(1, 4));
    expect(cache.size).toBe(1);
    cache.between(2, 3);
    rows.set([1, 0, 0, 0], 4 * 4);
    expect(cache.between(1, 4)).not.toBeCloseTo(rows[1 * 4]!, 6); // still the old pair: it was not told
    cache.forget([4]);
    expect(cache.size).toBe(1); // (2, 3) kept
    expect(cache.between(1, 4)).toBeCloseTo(rows[1 * 4]!, 6);
  });

  it('keeps every pair of a catalog apart (keys are high × item count + low) and forgets exactly the changed rows', () => {
    const count = 7;
    const rows = unitRows(count, 5, 11);
    const cache = new SimilarityCache(rows, 5);
    for (let a = 0; a < count; a++) for (let b = 0; b < count; b++) expect(cache.between(a, b)).toBeCloseTo(dot(rows, 5, a, b), 6);
    expect(cache.size).toBe((count * (count + 1)) / 2);
    cache.forget([0, count - 1]);
    // Pairs among the other five items stay.
    expect(cache.size).toBe((5 * 6) / 2);
  });

  it('forgets everything past its capacity rather than growing without bound', () => {
    const cache = new SimilarityCache(unitRows(50, 3, 5), 3, 10);
    for (let b = 1; b < 30; b++) cache.between(0, b);
    expect(cache.size).toBeLessThanOrEqual(10);
  });

  it('a feed ranked with the cache is the feed ranked without it, through likes and embedding changes', () => {
    const itemCount = 60;
    const dim = 8;
    fc.assert(
      fc.property(
        fc.array(fc.record({ liked: fc.integer({ min: 0, max: itemCount - 1 }), changed: fc.option(fc.integer({ min: 0, max: itemCount - 1 })) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (steps, diversity) => {
          const embeddings = unitRows(itemCount, dim, 7);
          const model = new HybridModel({ itemIds: Array.from({ length: itemCount }, (_, i) => `i${i}`), embeddings, embeddingDim: dim, factors: 4 });
          const user = new Float32Array(4);
          const cache = new SimilarityCache(embeddings, dim);
          const uniform = seededUniform(11);
          const anchors: FeedRequest['anchors'] & object = [];
          const exclude = new Set<number>();
          const popularity = Float32Array.from({ length: itemCount }, () => uniform());
          for (const { liked, changed } of steps) {
            onlineStep(
              model,
              user,
              { kind: 'like', item: liked },
              { skipped: [], recentPositives: [], randomUnseen: [(liked + 1) % itemCount, (liked + 7) % itemCount] },
              { updateItems: true },
            );
            (anchors as { index: number; kind: 'like' }[]).unshift({ index: liked, kind: 'like' });
            exclude.add(liked);
            if (changed !== null) {
              embeddings.set(unitRows(1, dim, changed + 100), changed * dim);
              model.embeddingsChanged([changed]);
              cache.forget([changed]);
            }
            const request: FeedRequest = { model, user, k: 10, exclude, popularity, anchors, diversity, poolSize: 30 };
            const plain = rankFeed(request);
            const cached = rankFeed({ ...request, similarities: cache });
            expect(cached.map((item) => [item.index, item.reason])).toEqual(plain.map((item) => [item.index, item.reason]));
            cached.forEach((item, i) => expect(Array.from(item.features)).toEqual(Array.from(plain[i]!.features)));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
