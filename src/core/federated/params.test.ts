import { describe, expect, it } from 'vitest';
import { add, assertWellFormed, flatten, l2Norm, layoutMismatch, layoutOf, paramNames, scale, subtract, unflatten, type ParamSet, type Tensor } from './params';

const W = (): Tensor => ({ shape: [2, 2], values: Float32Array.from([1, 2, 3, 4]) });
const b = (): Tensor => ({ shape: [3], values: Float32Array.from([0, 0, 12]) });
const set = (): ParamSet => ({ W: W(), b: b() });

describe('params', () => {
  it('orders names by code unit, not by insertion or locale', () => {
    const params: ParamSet = { q: b(), W: W(), b: b(), ranker: { shape: [], values: Float32Array.from([1]) } };
    expect(paramNames(params)).toEqual(['W', 'b', 'q', 'ranker']);
  });

  it('adds, subtracts and scales tensor by tensor', () => {
    const a = set();
    const d = subtract(add(a, scale(a, 2)), a);
    expect([...d.W!.values]).toEqual([2, 4, 6, 8]);
    expect([...d.b!.values]).toEqual([0, 0, 24]);
  });

  it('computes one L2 norm over all tensors', () => {
    expect(l2Norm(set())).toBeCloseTo(Math.sqrt(1 + 4 + 9 + 16 + 144), 10);
  });

  it('flattens in name order and unflattens back', () => {
    const flat = flatten(set());
    expect([...flat]).toEqual([1, 2, 3, 4, 0, 0, 12]);
    const back = unflatten(layoutOf(set()).reverse(), flat);
    expect(back).toEqual(set());
  });

  it('names the first layout difference', () => {
    const other = { ...set(), b: { shape: [4], values: new Float32Array(4) } };
    expect(layoutMismatch(layoutOf(set()), layoutOf(other))).toBe("parameter 'b' has shape [4], expected [3]");
    expect(layoutMismatch(layoutOf(set()), layoutOf({ W: W() }))).toBe("parameter 'b' is missing");
    expect(() => subtract(set(), other)).toThrow(/'b'/);
    expect(() => assertWellFormed({ x: { shape: [2, 2], values: new Float32Array(3) } })).toThrow(/'x'/);
  });
});
