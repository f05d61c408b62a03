import { describe, expect, it } from 'vitest';
import { privatizeDelta } from './delta';
import { clipByGroups, parseClipShares } from './group-clip';
import { l2Norm, zerosLike, type ParamSet } from './params';
import { seededUniform } from '../random';

const delta = (): ParamSet => ({
  W: { shape: [2], values: Float32Array.of(3, 4) }, // norm 5
  q: { shape: [2], values: Float32Array.of(0, 12) }, // norm 12
  b: { shape: [1], values: Float32Array.of(0.1) }, // norm 0.1
});

describe('clipByGroups', () => {
  it('clips each group to C·√share, so the total norm stays ≤ C', () => {
    const { clipped, norm } = clipByGroups(delta(), 2, parseClipShares('W+q:0.75,b:0.25'));
    expect(norm).toBeCloseTo(Math.sqrt(25 + 144 + 0.01), 4);
    expect(l2Norm({ W: clipped.W!, q: clipped.q! })).toBeCloseTo(2 * Math.sqrt(0.75), 4);
    expect(clipped.b!.values[0]).toBeCloseTo(0.1, 6); // under its bound: untouched
    expect(l2Norm(clipped)).toBeLessThanOrEqual(2);
    // directions within a group are kept
    expect(clipped.q!.values[1]! / clipped.W!.values[1]!).toBeCloseTo(3, 4);
  });

  it("gives every tensor no other group names to '*', and zeroes a group whose share is 0", () => {
    const { clipped, norm } = clipByGroups(delta(), 1, parseClipShares('W:1,*:0'));
    expect(norm).toBeCloseTo(Math.sqrt(25 + 144 + 0.01), 4);
    expect(l2Norm({ W: clipped.W! })).toBeCloseTo(1, 5);
    expect(Array.from(clipped.q!.values)).toEqual([0, 0]);
    expect(Array.from(clipped.b!.values)).toEqual([0]);
    expect(l2Norm(clipped)).toBeLessThanOrEqual(1);
  });

  it('refuses shares that do not sum to 1 or are negative, and tensors without a group', () => {
    expect(() => parseClipShares('W+q:0.5,b:0.25')).toThrow(/sum to 1/);
    expect(() => parseClipShares('W:1.5,b:-0.5')).toThrow(/bad clip share/);
    expect(() => clipByGroups(delta(), 1, parseClipShares('W+q:1'))).toThrow(/no clip group for b/);
    expect(() => clipByGroups(delta(), 1, parseClipShares('W+q:0.5,q+b:0.5'))).toThrow(/two clip groups/);
    expect(() => clipByGroups(delta(), 1, parseClipShares('W+x:1'))).toThrow(/does not have/);
  });
});

describe('privatizeDelta with clip shares', () => {
  it('clips by group, then adds σ·C noise to every coordinate of every tensor (dense, whatever the shares)', () => {
    const zero = zerosLike(delta());
    const noiseless = privatizeDelta(delta(), zero, { clipNorm: 1, noiseMultiplier: 1e-9, clipShares: { W: 1, '*': 0 }, uniform: seededUniform(3) });
    expect(l2Norm({ W: noiseless.delta.W! })).toBeCloseTo(1, 5);
    expect(Math.abs(noiseless.delta.q!.values[1]!)).toBeLessThan(1e-6);
    const noisy = privatizeDelta(delta(), zero, { clipNorm: 1, noiseMultiplier: 5, clipShares: { W: 1, '*': 0 }, uniform: seededUniform(4) });
    expect(noisy.noiseStddev).toBe(5);
    expect([...noisy.delta.q!.values, ...noisy.delta.b!.values].every((v) => v !== 0)).toBe(true);
    expect(noisy.local.preClipNorm).toBeCloseTo(Math.sqrt(25 + 144 + 0.01), 4);
  });
});
