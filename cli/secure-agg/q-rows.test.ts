import { describe, expect, it } from 'vitest';
import { topRows } from './q-rows';

describe('topRows', () => {
  it('chooses no row before any bias is published', () => {
    expect(topRows(new Float32Array(5), 2)).toBeNull();
  });

  it('chooses the items with the highest published bias, ties by index', () => {
    expect(topRows(Float32Array.of(0.1, 0.5, -1, 0.5, 0.2), 3)).toEqual([1, 3, 4]);
  });
});
