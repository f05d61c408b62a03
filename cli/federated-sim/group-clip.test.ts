import { describe, expect, it } from 'vitest';
import { l2Norm, type ParamSet } from '../../src/core/federated/params';
import { clipByGroups, parseClipShares } from './group-clip';

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

  it('refuses shares that do not sum to 1 and tensors without a group', () => {
    expect(() => parseClipShares('W+q:0.5,b:0.25')).toThrow(/sum to 1/);
    expect(() => clipByGroups(delta(), 1, parseClipShares('W+q:1'))).toThrow(/no clip group for b/);
    expect(() => clipByGroups(delta(), 1, parseClipShares('W+q:0.5,q+b:0.5'))).toThrow(/two clip groups/);
  });
});
