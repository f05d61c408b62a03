import { describe, expect, it } from 'vitest';
import { l2TransferFactor, withL2Scaled } from './l2-transfer';
import type { SoftmaxTrainOptions } from './train';

describe('L2 transfer', () => {
  it('is N₁/N: weaker on more data, stronger on less, and refuses empty sets', () => {
    expect(l2TransferFactor(56_244, 74_992)).toBeCloseTo(0.75, 3);
    expect(l2TransferFactor(56_244, 42_166)).toBeCloseTo(1.334, 3);
    expect(() => l2TransferFactor(0, 10)).toThrow(RangeError);
    expect(() => l2TransferFactor(10, 0)).toThrow(RangeError);
  });

  it("scales every L2 the options set, the history encoder's included, and nothing else", () => {
    const options = { epochs: 60, learningRate: 0.03, l2: 0.05, l2Projection: 1e-4, l2Users: 0.1, userFromHistory: { alpha: 1, dropout: 0.5, l2: 0.02 } };
    const scaled = withL2Scaled(options, 0.75);
    expect(scaled.l2).toBeCloseTo(0.0375, 10);
    expect(scaled.l2Projection).toBeCloseTo(7.5e-5, 12);
    expect(scaled.l2Users).toBeCloseTo(0.075, 10);
    expect(scaled.userFromHistory.l2).toBeCloseTo(0.015, 10);
    expect({ ...scaled, l2: 0, l2Projection: 0, l2Users: 0, userFromHistory: { ...scaled.userFromHistory, l2: 0 } }).toEqual({
      ...options,
      l2: 0,
      l2Projection: 0,
      l2Users: 0,
      userFromHistory: { ...options.userFromHistory, l2: 0 },
    });
    expect(options.l2).toBe(0.05); // the input is not changed
  });

  it('leaves an L2 the options do not set unset: the trainer derives it from the scaled l2', () => {
    const options: SoftmaxTrainOptions = { l2: 0.15, userFromHistory: { alpha: 1 } };
    const scaled = withL2Scaled(options, 0.5);
    expect(scaled.l2).toBeCloseTo(0.075, 10);
    expect(scaled.l2Users).toBeUndefined(); // trainSoftmax: l2Users ?? l2, so it follows the scaled l2
    expect(scaled.userFromHistory?.l2).toBeUndefined(); // likewise p's L2
    expect(withL2Scaled({ l2: 0.15 }, 1)).toEqual({ l2: 0.15 });
  });
});
