import { describe, expect, it } from 'vitest';
import { changedRows } from './personal-model';

describe('changedRows', () => {
  it('finds exactly the rows where any value moved', () => {
    const before = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    const after = Float32Array.from([0, 0, 1, 1.5, 2, 2, 3.25, 3]);
    expect(changedRows(before, after, 2)).toEqual([1, 3]);
    expect(changedRows(before, Float32Array.from(before), 2)).toEqual([]);
  });
});
