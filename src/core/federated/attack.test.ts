import { describe, expect, it } from 'vitest';
import { itemDeltaScores, rocAuc } from './attack';
import { addGaussianNoise, clipToNorm } from './delta';
import { seededUniform } from '../random';
import type { ParamSet } from './params';

const ITEMS = 2000;
const DIM = 8;

/** A user who touched every 20th item: only those rows of q and entries of b move. */
function sparseDelta(): { delta: ParamSet; touched: Set<number> } {
  const random = seededUniform(11);
  const touched = new Set<number>();
  const q = new Float32Array(ITEMS * DIM);
  const b = new Float32Array(ITEMS);
  for (let i = 0; i < ITEMS; i += 20) {
    touched.add(i);
    for (let j = 0; j < DIM; j++) q[i * DIM + j] = (random() - 0.5) * 0.1;
    b[i] = 0.01;
  }
  return {
    delta: { W: { shape: [4, 4], values: new Float32Array(16).fill(0.1) }, q: { shape: [ITEMS, DIM], values: q }, b: { shape: [ITEMS], values: b } },
    touched,
  };
}

describe('membership attack on deltas', () => {
  it('computes the ROC AUC with ties as one half', () => {
    expect(rocAuc([0.1, 0.9, 0.8, 0.2], new Set([1, 2]))).toBe(1);
    expect(rocAuc([0.9, 0.1, 0.2, 0.8], new Set([1, 2]))).toBe(0);
    expect(rocAuc([1, 1, 1, 1], new Set([0]))).toBe(0.5);
    expect(rocAuc([0.1, 0.4, 0.5, 0.8], new Set([1, 3]))).toBe(0.75);
    expect(() => rocAuc([1, 2], new Set())).toThrow(/touched/);
  });

  it('scores items by the norm of their rows and entries', () => {
    const scores = itemDeltaScores({ q: { shape: [2, 2], values: Float32Array.from([3, 4, 0, 0]) }, b: { shape: [2], values: Float32Array.from([0, 2]) } });
    expect([...scores]).toEqual([5, 2]);
    expect(() => itemDeltaScores({ q: { shape: [2, 2], values: new Float32Array(4) }, b: { shape: [3], values: new Float32Array(3) } })).toThrow(
      /covers 3 items/,
    );
  });

  it('is perfect on an un-noised sparse delta (AUC 1): why the noise must be dense', () => {
    const { delta, touched } = sparseDelta();
    expect(rocAuc(itemDeltaScores(delta), touched)).toBe(1);
  });

  it('is near chance (AUC ≈ 0.5) after clipping and heavy noise', () => {
    const { delta, touched } = sparseDelta();
    const noised = addGaussianNoise(clipToNorm(delta, 1).clipped, 5, seededUniform(3));
    const auc = rocAuc(itemDeltaScores(noised), touched);
    expect(auc).toBeGreaterThan(0.4);
    expect(auc).toBeLessThan(0.6);
  });
});
