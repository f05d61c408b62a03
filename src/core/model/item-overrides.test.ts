import { describe, expect, it } from 'vitest';
import { ItemOverrides } from './item-overrides';

describe("the device's own q_i, b_i at scale", () => {
  it('keeps at most cap items, evicting the one touched longest ago; touching again keeps an item', () => {
    const overrides = new ItemOverrides(2, 3);
    expect(overrides.set('a', [1, 2], 0.5)).toBeUndefined();
    overrides.set('b', [3, 4], 0.25);
    overrides.set('c', [5, 6], -1);
    // 'a' touched again: 'b' is now the oldest.
    overrides.set('a', [7, 8], 2);
    expect(overrides.set('d', [9, 10], 0)).toBe('b');
    expect(overrides.ids()).toEqual(['c', 'a', 'd']);
    expect(overrides.get('b')).toBeUndefined();
    expect([...overrides.get('a')!.q]).toEqual([7, 8]);
    expect(overrides.get('a')!.b).toBe(2);
    expect(() => overrides.set('e', [1], 0)).toThrow(RangeError);
  });

  it('round-trips through its stored ids and values to the bit, and refuses values that do not fit', () => {
    const overrides = new ItemOverrides(3);
    overrides.set('x', [0.1, -0.2, 1 / 3], Math.PI);
    overrides.set('y', [1e-7, 5, -0.5], -0.1);
    const again = new ItemOverrides(3);
    expect(again.restore(overrides.ids(), overrides.values())).toBe(true);
    expect(again.ids()).toEqual(['x', 'y']);
    expect(again.values()).toEqual(overrides.values());
    expect(again.get('x')!.b).toBe(Math.fround(Math.PI));
    expect(again.restore(['x'], overrides.values())).toBe(false);
    expect(again.size).toBe(0);
    expect(again.restore(['x', 'x'], overrides.values())).toBe(false);
    expect(new ItemOverrides(3, 1).restore(overrides.ids(), overrides.values())).toBe(false);
  });
});
