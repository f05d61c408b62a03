import { describe, expect, it } from 'vitest';
import { serverOptimizer } from './server-opt';
import type { ParamSet } from '../../src/core/federated/params';

const tensor = (...values: number[]): ParamSet => ({ x: { shape: [values.length], values: Float32Array.from(values) } });

describe('serverOptimizer', () => {
  it('sgd is FedAvg: x + η·Δ, and leaves the input alone', () => {
    const global = tensor(1, 2);
    const next = serverOptimizer({ kind: 'sgd', momentum: 0.9, tau: 1e-3 }).step(global, tensor(0.5, -1), 2);
    expect(Array.from(next.x!.values)).toEqual([2, 0]);
    expect(Array.from(global.x!.values)).toEqual([1, 2]);
  });

  it('momentum accumulates the updates: the second step moves by η(βΔ₁ + Δ₂)', () => {
    const opt = serverOptimizer({ kind: 'momentum', momentum: 0.5, tau: 0 });
    const once = opt.step(tensor(0), tensor(1), 1);
    expect(once.x!.values[0]).toBeCloseTo(1);
    const twice = opt.step(once, tensor(1), 1);
    expect(twice.x!.values[0]).toBeCloseTo(1 + 1.5);
  });

  it('adam takes steps of about η per coordinate whatever the update scale', () => {
    const opt = serverOptimizer({ kind: 'adam', momentum: 0.9, tau: 1e-9, beta2: 0.99 });
    const next = opt.step(tensor(0, 0), tensor(1e-4, -100), 1);
    // m = 0.1Δ, √v = 0.1|Δ|: the step is η·sign(Δ) for both coordinates.
    expect(next.x!.values[0]).toBeCloseTo(1, 3);
    expect(next.x!.values[1]).toBeCloseTo(-1, 3);
  });

  it('refuses an update of the wrong length', () => {
    expect(() => serverOptimizer({ kind: 'sgd', momentum: 0, tau: 0 }).step(tensor(1, 2), tensor(1), 1)).toThrow(RangeError);
  });
});
