import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isConnected, neighbourGraph } from './graph';
import { SecAggError, defaultNeighbours, defaultThreshold, localThreshold, roundParams } from './params';

const params = (n: number, k: number, roundId = 'round-1') => roundParams({ roundId, cohortSize: n, vectorLength: 1, neighbours: k });

/** A deterministic PRNG for the Monte Carlo checks below (mulberry32). */
function mulberry(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
function sample(n: number, count: number, rand: () => number): Set<number> {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return new Set(order.slice(0, count));
}

describe('neighbourGraph', () => {
  it('is k-regular, symmetric, without self-loops, and the same for the same round', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 80 }), fc.integer({ min: 1, max: 40 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), (n, half, roundId) => {
        const k = Math.min(2 * half, n - 1);
        const p = params(n, k % 2 === 0 || k === n - 1 ? k : k - 1, roundId);
        const graph = neighbourGraph(p);
        expect(graph).toHaveLength(n);
        const problems: string[] = [];
        graph.forEach((list, i) => {
          if (list.length !== p.neighbours || new Set(list).size !== list.length) problems.push(`${i}: degree ${list.length}`);
          if (list.includes(i)) problems.push(`${i}: self-loop`);
          for (const j of list) if (!graph[j]!.includes(i)) problems.push(`${i}-${j}: one-way`);
        });
        expect(problems).toEqual([]);
        expect(neighbourGraph(p)).toEqual(graph);
      }),
      { numRuns: 60 },
    );
  });

  it('depends on the round id (a fresh random permutation each round)', () => {
    expect(neighbourGraph(params(50, 8, 'a'))).not.toEqual(neighbourGraph(params(50, 8, 'b')));
  });

  it('is the complete graph when k = n-1 (classic SecAgg)', () => {
    const graph = neighbourGraph(params(7, 6));
    graph.forEach((list, i) => expect(list).toEqual([0, 1, 2, 3, 4, 5, 6].filter((j) => j !== i)));
  });

  it('stays connected after removing any k-1 devices (Harary graphs are k-connected)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 12, max: 60 }), fc.integer({ min: 1, max: 5 }), fc.integer(), (n, half, seed) => {
        const k = 2 * half;
        const graph = neighbourGraph(params(n, k, `s${seed >>> 0}`));
        const removed = sample(n, k - 1, mulberry(seed));
        expect(
          isConnected(
            graph,
            Array.from({ length: n }, (_, i) => i).filter((i) => !removed.has(i)),
          ),
        ).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses parameters outside the protocol', () => {
    expect(() => params(10, 3)).toThrow(SecAggError); // odd k below n-1
    expect(() => params(10, 10)).toThrow(SecAggError); // k > n-1
    expect(() => roundParams({ roundId: 'r', cohortSize: 10, vectorLength: 1, threshold: 5 })).toThrow(SecAggError); // t <= n/2
    expect(() => roundParams({ roundId: 'bad id', cohortSize: 10, vectorLength: 1 })).toThrow(SecAggError);
    expect(() => roundParams({ roundId: 'r', cohortSize: 2, vectorLength: 1 })).toThrow(SecAggError);
    expect(() => roundParams({ roundId: 'r', cohortSize: 10, vectorLength: 2 ** 24 + 1 })).toThrow(SecAggError);
  });
});

describe('degree and per-neighbourhood threshold', () => {
  it('has the documented defaults', () => {
    const row = (n: number) => {
      const p = roundParams({ roundId: 'r', cohortSize: n, vectorLength: 1 });
      return [p.neighbours, p.threshold, localThreshold(p)];
    };
    expect(row(10)).toEqual([9, 7, 6]); // complete graph: t_local = t - 1
    expect(row(30)).toEqual([20, 20, 8]);
    expect(row(100)).toEqual([28, 67, 10]);
    expect(row(1000)).toEqual([40, 667, 14]);
    expect(defaultNeighbours(10_000)).toBe(56);
    expect(defaultThreshold(3)).toBe(2);
  });

  it('rarely leaves a neighbourhood short when exactly n - t devices drop at random (Monte Carlo)', () => {
    for (const n of [100, 1000]) {
      const p = roundParams({ roundId: `mc${n}`, cohortSize: n, vectorLength: 1 });
      const graph = neighbourGraph(p);
      const tLocal = localThreshold(p);
      const rand = mulberry(n);
      let short = 0;
      const trials = n === 100 ? 400 : 60;
      for (let trial = 0; trial < trials; trial++) {
        const dropped = sample(n, n - p.threshold, rand);
        const ok = graph.every((list) => list.filter((j) => !dropped.has(j)).length >= tLocal);
        if (!ok) short++;
      }
      // Documented bound: about n * 3e-5 per round at the very threshold (0.003 for n = 100, 0.03 for n = 1000).
      expect(short / trials).toBeLessThan(n === 100 ? 0.02 : 0.1);
    }
  });

  it('keeps any coalition of fewer than t_local devices from holding t_local shares of one secret', () => {
    // Structural: a device's secrets are shared only with its k neighbours, t_local of them needed, t_local >= 2.
    for (const n of [3, 10, 30, 100, 1000, 5000]) {
      const p = roundParams({ roundId: 'r', cohortSize: n, vectorLength: 1 });
      const tLocal = localThreshold(p);
      expect(tLocal).toBeGreaterThanOrEqual(2);
      expect(tLocal).toBeLessThanOrEqual(p.neighbours);
      expect(tLocal / p.neighbours).toBeGreaterThan(n <= 3 ? 0.5 : 0.3);
    }
  });
});
