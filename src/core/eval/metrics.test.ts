import { describe, expect, it } from 'vitest';
import { heldOutRank, hitAtK, ndcgOfRank, topKMetrics, userTopKMetrics } from './metrics';

describe('top-k metrics (Recommenders definitions), hand-computed', () => {
  // Recommended [a=1, b=2, c=3, d=4], k = 4; relevant {1, 3, 9}: hits at ranks 1 and 3.
  const m = userTopKMetrics([1, 2, 3, 4], new Set([1, 3, 9]), 4);
  it('precision, recall', () => {
    expect(m.precision).toBeCloseTo(2 / 4);
    expect(m.recall).toBeCloseTo(2 / 3);
  });
  it('nDCG with natural-log discount and ideal over min(|truth|, k) positions', () => {
    const dcg = 1 / Math.log(2) + 1 / Math.log(4);
    const idcg = 1 / Math.log(2) + 1 / Math.log(3) + 1 / Math.log(4);
    expect(m.ndcg).toBeCloseTo(dcg / idcg, 10);
  });
  it('MAP divides by |truth|, MAP@k by min(|truth|, k)', () => {
    const precisions = 1 / 1 + 2 / 3;
    expect(m.map).toBeCloseTo(precisions / 3, 10);
    expect(userTopKMetrics([1, 2, 3, 4], new Set([1, 3, 9]), 2).mapAtK).toBeCloseTo(1 / 2, 10);
  });
  it('averages over users with truth only, and measures coverage', () => {
    const all = topKMetrics(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [new Set([1]), new Set([7]), new Set()],
      2,
      10,
    );
    expect(all.users).toBe(2);
    expect(all.precision).toBeCloseTo((1 / 2 + 0) / 2);
    expect(all.hitRate).toBeCloseTo(0.5);
    expect(all.coverage).toBeCloseTo(4 / 10);
  });
});

describe('leave-one-out metrics', () => {
  it('rank counts ties against the held-out item; HR and NDCG follow', () => {
    expect(heldOutRank(0.5, [0.9, 0.5, 0.1])).toBe(2);
    expect(heldOutRank(1, [0, 0])).toBe(0);
    expect(hitAtK(9, 10)).toBe(1);
    expect(hitAtK(10, 10)).toBe(0);
    expect(ndcgOfRank(0, 10)).toBe(1);
    expect(ndcgOfRank(2, 10)).toBeCloseTo(0.5);
    expect(ndcgOfRank(10, 10)).toBe(0);
  });
});
