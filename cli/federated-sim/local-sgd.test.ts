import { describe, expect, it } from 'vitest';
import { seededUniform } from '../../src/core/federated/random';
import { cloneShared, fitUserVector, itemVectors, trainLocal, type ModelShape, type SharedParams } from './local-sgd';

const shape: ModelShape = { itemCount: 40, factors: 4, textDim: 6 };

function randomModel(seed: number): { params: SharedParams; text: Float32Array } {
  const uniform = seededUniform(seed);
  const r = (n: number, s: number): Float32Array => Float32Array.from({ length: n }, () => (uniform() - 0.5) * s);
  return {
    params: { W: r(shape.factors * shape.textDim, 1), q: r(shape.itemCount * shape.factors, 0.2), b: new Float32Array(shape.itemCount) },
    text: r(shape.itemCount * shape.textDim, 1),
  };
}

/** Mean over positives of the fraction of unseen items they outscore. */
function auc(vectors: Float32Array, b: Float32Array, user: Float32Array, positives: Set<number>): number {
  const d = shape.factors;
  const score = (i: number): number => b[i]! + user.reduce((s, u, f) => s + u * vectors[i * d + f]!, 0);
  const negatives = [...Array(shape.itemCount).keys()].filter((i) => !positives.has(i));
  let wins = 0;
  for (const p of positives) for (const n of negatives) wins += score(p) > score(n) ? 1 : 0;
  return wins / (positives.size * negatives.length);
}

describe('itemVectors', () => {
  it('is W·ẽ_i + q_i', () => {
    const { params, text } = randomModel(1);
    const v = itemVectors(params, text, shape);
    const i = 7;
    const f = 2;
    let expected = params.q[i * shape.factors + f]!;
    for (let t = 0; t < shape.textDim; t++) expected += params.W[f * shape.textDim + t]! * text[i * shape.textDim + t]!;
    expect(v[i * shape.factors + f]).toBeCloseTo(expected, 5);
  });
});

describe('fitUserVector', () => {
  it('learns a vector that ranks the positives above unseen items, without touching the shared params', () => {
    const { params, text } = randomModel(2);
    const vectors = itemVectors(params, text, shape);
    const before = Float32Array.from(vectors);
    // Positives: the items a hidden user vector likes most, so a good fit exists.
    const hidden = Float32Array.of(1, -1, 0.5, 0.2);
    const ranked = [...Array(shape.itemCount).keys()].sort(
      (a, c) => hidden.reduce((s, u, f) => s + u * (vectors[c * 4 + f]! - vectors[a * 4 + f]!), 0),
    );
    const positives = Int32Array.from(ranked.slice(0, 8));
    const seen = new Set(positives);
    const user = fitUserVector(vectors, params.b, shape.factors, positives, seen, { epochs: 30, learningRate: 0.1, l2: 0.01, uniform: seededUniform(3) });
    expect(auc(vectors, params.b, user, seen)).toBeGreaterThan(0.9);
    expect(auc(vectors, params.b, new Float32Array(4).fill(0.5), seen)).toBeLessThan(0.9); // not trivially true
    expect(vectors).toEqual(before);
  });
});

describe('trainLocal', () => {
  it('moves only the touched rows of q and b, and raises the positives’ biases', () => {
    const { params, text } = randomModel(4);
    const local = cloneShared(params);
    const positives = Int32Array.of(3, 5, 11);
    const seen = new Set(positives);
    const user = Float32Array.of(0.1, 0.2, -0.1, 0.3);
    const uniform = seededUniform(5);
    trainLocal(local, user, text, shape, positives, seen, { epochs: 3, learningRate: 0.1, l2: 0, uniform });
    const movedRows = [...Array(shape.itemCount).keys()].filter((i) => local.b[i] !== params.b[i]);
    for (const p of positives) expect(local.b[p]!).toBeGreaterThan(params.b[p]!);
    // 3 epochs × 3 positives: at most 9 negatives besides the 3 positives.
    expect(movedRows.length).toBeLessThanOrEqual(12);
    for (let i = 0; i < shape.itemCount; i++) {
      if (movedRows.includes(i)) continue;
      expect(local.q.subarray(i * 4, i * 4 + 4)).toEqual(params.q.subarray(i * 4, i * 4 + 4));
    }
    expect(local.W).not.toEqual(params.W);
  });

  it('keeps W fixed when trainProjection is false, and lowers the loss over epochs', () => {
    const { params, text } = randomModel(6);
    const positives = Int32Array.from({ length: 10 }, (_, k) => k * 3);
    const seen = new Set(positives);
    const local = cloneShared(params);
    const user = new Float32Array(4).fill(0.1);
    const first = trainLocal(local, user, text, shape, positives, seen, { epochs: 1, learningRate: 0.1, l2: 0, uniform: seededUniform(7), trainProjection: false });
    const later = trainLocal(local, user, text, shape, positives, seen, { epochs: 20, learningRate: 0.1, l2: 0, uniform: seededUniform(8), trainProjection: false });
    expect(local.W).toEqual(params.W);
    expect(later).toBeLessThan(first);
  });

  it('keeps q fixed when trainResiduals is false and still moves W and b', () => {
    const { params, text } = randomModel(9);
    const positives = Int32Array.of(1, 4, 7);
    const seen = new Set(positives);
    const local = cloneShared(params);
    const user = Float32Array.of(0.3, -0.2, 0.1, 0.2);
    trainLocal(local, user, text, shape, positives, seen, { epochs: 3, learningRate: 0.1, l2: 0.01, uniform: seededUniform(11), trainResiduals: false });
    expect(local.q).toEqual(params.q);
    expect(local.W).not.toEqual(params.W);
    for (const p of positives) expect(local.b[p]!).toBeGreaterThan(params.b[p]!);
  });
});
