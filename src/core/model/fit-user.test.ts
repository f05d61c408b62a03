import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitUserSoftmax } from './fit-user';

/** F(u) = Σ w_i (u·v_i + b_i) − Σw · log Σ_j exp(u·v_j + b_j) − λ/2 ‖u‖², written out plainly. */
function objective(
  vectors: Float32Array,
  biases: Float32Array | null,
  d: number,
  items: number[],
  weights: number[],
  l2: number,
  u: ArrayLike<number>,
): number {
  const n = vectors.length / d;
  const logit = (j: number) => {
    let z = biases ? biases[j]! : 0;
    for (let f = 0; f < d; f++) z += vectors[j * d + f]! * u[f]!;
    return z;
  };
  let normaliser = 0;
  for (let j = 0; j < n; j++) normaliser += Math.exp(logit(j));
  let value = 0;
  items.forEach((item, k) => (value += weights[k]! * (logit(item) - Math.log(normaliser))));
  let norm = 0;
  for (let f = 0; f < d; f++) norm += u[f]! ** 2;
  return value - (l2 / 2) * norm;
}

describe('fitUserSoftmax', () => {
  it('solves the one-dimensional case: 1 − tanh(u) = λu for v = ±1 and the history {+1}', () => {
    const vectors = Float32Array.from([1, -1]);
    const { user } = fitUserSoftmax(vectors, null, 1, [0], [1], { l2: 1 });
    // Bisection on g(u) = 1 − tanh(u) − u, decreasing, g(0) = 1 > 0, g(1) < 0.
    let [lo, hi] = [0, 1];
    for (let k = 0; k < 60; k++) {
      const mid = (lo + hi) / 2;
      if (1 - Math.tanh(mid) - mid > 0) lo = mid;
      else hi = mid;
    }
    expect(user[0]).toBeCloseTo(lo, 5);
  });

  it('reaches the maximum: the objective never falls, and no small move from the result raises it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
        let state = seed;
        const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
        const [n, d] = [30, 4];
        const vectors = Float32Array.from({ length: n * d }, random);
        const biases = Float32Array.from({ length: n }, () => random() * 0.5);
        const items = [0, 3, 7, 7, 12];
        const weights = [1, 0.5, 1, 1, 2];
        const l2 = 0.3;
        const { user, objective: trace } = fitUserSoftmax(vectors, biases, d, items, weights, { l2 });
        for (let k = 1; k < trace.length; k++) expect(trace[k]!).toBeGreaterThanOrEqual(trace[k - 1]! - 1e-9);
        const best = objective(vectors, biases, d, items, weights, l2, user);
        expect(trace.at(-1)!).toBeCloseTo(best, 6);
        for (let f = 0; f < d; f++) {
          for (const delta of [-1e-3, 1e-3]) {
            const moved = Float64Array.from(user);
            moved[f]! += delta;
            expect(objective(vectors, biases, d, items, weights, l2, moved)).toBeLessThanOrEqual(best + 1e-9);
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it("puts the history's topic first, and a stronger ridge gives a shorter vector", () => {
    // Two topics: items 0–4 along +x, 5–9 along +y.
    const vectors = Float32Array.from({ length: 20 }, (_, k) => (Math.floor(k / 2) < 5 ? (k % 2 === 0 ? 1 : 0) : k % 2 === 1 ? 1 : 0));
    const weak = fitUserSoftmax(vectors, null, 2, [0, 1, 2], [1, 1, 1], { l2: 0.1 }).user;
    const strong = fitUserSoftmax(vectors, null, 2, [0, 1, 2], [1, 1, 1], { l2: 10 }).user;
    expect(weak[0]!).toBeGreaterThan(0); // topic x scores u₀, topic y u₁
    expect(weak[1]!).toBeLessThan(0);
    expect(Math.hypot(...strong)).toBeLessThan(Math.hypot(...weak));
  });

  it('starts and stays at zero for an empty history; refuses bad input', () => {
    const vectors = Float32Array.from([1, 0, 0, 1]);
    expect(Array.from(fitUserSoftmax(vectors, null, 2, [], [], { l2: 1 }).user)).toEqual([0, 0]);
    expect(() => fitUserSoftmax(vectors, null, 2, [0], [1], { l2: 0 })).toThrow(RangeError);
    expect(() => fitUserSoftmax(vectors, null, 2, [5], [1], { l2: 1 })).toThrow(/outside/);
    expect(() => fitUserSoftmax(vectors, null, 2, [0, 1], [1], { l2: 1 })).toThrow(/length/);
    expect(() => fitUserSoftmax(Float32Array.from([1, 2, 3]), null, 2, [0], [1], { l2: 1 })).toThrow(RangeError);
  });
});
