import { describe, expect, it } from 'vitest';
import { seededUniform } from '../random';
import { bprGradient, bprLoss, onlineStep, type PairInput } from './bpr';
import { HybridModel } from './hybrid';

function randomVector(length: number, uniform: () => number): Float32Array {
  return Float32Array.from({ length }, () => uniform() * 2 - 1);
}

describe('BPR gradient', () => {
  it('matches a central finite difference for every parameter', () => {
    const uniform = seededUniform(3);
    const input: PairInput = {
      user: randomVector(8, uniform),
      positive: randomVector(8, uniform),
      negative: randomVector(8, uniform),
      positiveBias: 0.3,
      negativeBias: -0.2,
    };
    const analytic = bprGradient(input);
    const h = 1e-3;
    const numeric = (mutate: (copy: PairInput, delta: number) => void) => {
      const plus = structuredClone(input);
      const minus = structuredClone(input);
      mutate(plus, h);
      mutate(minus, -h);
      return (bprLoss(plus) - bprLoss(minus)) / (2 * h);
    };
    for (let f = 0; f < 8; f++) {
      expect(analytic.user[f]).toBeCloseTo(
        numeric((c, d) => (c.user[f]! += d)),
        3,
      );
      expect(analytic.positive[f]).toBeCloseTo(
        numeric((c, d) => (c.positive[f]! += d)),
        3,
      );
      expect(analytic.negative[f]).toBeCloseTo(
        numeric((c, d) => (c.negative[f]! += d)),
        3,
      );
    }
    expect(analytic.positiveBias).toBeCloseTo(
      numeric((c, d) => (c.positiveBias += d)),
      3,
    );
    expect(analytic.negativeBias).toBeCloseTo(
      numeric((c, d) => (c.negativeBias += d)),
      3,
    );
  });

  it('is finite for huge margins (no overflow in the loss)', () => {
    const big = Float32Array.of(1000);
    expect(bprLoss({ user: big, positive: big, negative: Float32Array.of(0), positiveBias: 0, negativeBias: 0 })).toBe(0);
    expect(bprLoss({ user: big, positive: Float32Array.of(0), negative: big, positiveBias: 0, negativeBias: 0 })).toBeCloseTo(1e6);
  });
});

describe('online step', () => {
  const uniform = seededUniform(5);
  const itemCount = 40;
  const dim = 16;
  const embeddings = new Float32Array(itemCount * dim);
  for (let i = 0; i < itemCount; i++) {
    const row = randomVector(dim, uniform);
    const norm = Math.hypot(...row);
    embeddings.set(
      row.map((x) => x / norm),
      i * dim,
    );
  }
  const model = () => new HybridModel({ itemIds: Array.from({ length: itemCount }, (_, i) => `i${i}`), embeddings, embeddingDim: dim, factors: 8 });

  it('a like raises the liked item above the items it was paired against', () => {
    const m = model();
    const user = m.newUserVector();
    const negatives = [1, 2, 3, 4, 5];
    onlineStep(m, user, { kind: 'like', item: 0 }, { skipped: negatives, recentPositives: [], randomUnseen: [6, 7] });
    for (const n of negatives) expect(m.score(user, 0)).toBeGreaterThan(m.score(user, n));
  });

  it('a dislike lowers the item relative to recent positives, and touched q/b change only with updateItems', () => {
    const m = model();
    const user = m.newUserVector();
    onlineStep(m, user, { kind: 'like', item: 0 }, { skipped: [], recentPositives: [], randomUnseen: [9, 10] });
    const before = m.score(user, 0) - m.score(user, 3);
    const qBefore = Float32Array.from(m.q);
    onlineStep(m, user, { kind: 'dislike', item: 3 }, { skipped: [], recentPositives: [0], randomUnseen: [] });
    expect(m.score(user, 0) - m.score(user, 3)).toBeGreaterThan(before);
    expect(m.q).toEqual(qBefore);
    onlineStep(m, user, { kind: 'dislike', item: 3 }, { skipped: [], recentPositives: [0], randomUnseen: [] }, { updateItems: true });
    expect(m.q.slice(3 * 8, 4 * 8).some((x) => x !== 0)).toBe(true);
    expect(m.q.slice(20 * 8, 21 * 8).every((x) => x === 0)).toBe(true); // untouched item: still zero
  });
});
