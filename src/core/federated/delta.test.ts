import { describe, expect, it } from 'vitest';
import { addGaussianNoise, clipToNorm, makeDelta, privatizeDelta } from './delta';
import { cryptoUniform, gaussianSource, seededUniform } from '../random';
import { l2Norm, type ParamSet } from './params';

function model(nItems: number, dim: number, fill: (name: string, i: number) => number): ParamSet {
  const tensor = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return { shape, values: Float32Array.from({ length: size }, (_, i) => fill(name, i)) };
  };
  return { W: tensor('W', [dim, dim]), q: tensor('q', [nItems, dim]), b: tensor('b', [nItems]) };
}

describe('random', () => {
  it('is reproducible with a seed and in [0, 1)', () => {
    const a = seededUniform(42);
    const b = seededUniform(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededUniform(43)()).not.toBe(xs[0]);
  });

  it('gives standard normal samples (mean 0, variance 1) from both sources', () => {
    for (const uniform of [seededUniform(7), cryptoUniform()]) {
      const normal = gaussianSource(uniform);
      const n = 100_000;
      let sum = 0;
      let sq = 0;
      let beyond2 = 0;
      for (let i = 0; i < n; i++) {
        const x = normal();
        sum += x;
        sq += x * x;
        if (Math.abs(x) > 2) beyond2++;
      }
      expect(Math.abs(sum / n)).toBeLessThan(0.02);
      expect(Math.abs(sq / n - 1)).toBeLessThan(0.03);
      expect(beyond2 / n).toBeCloseTo(0.0455, 2); // P(|Z| > 2)
    }
  });
});

describe('delta', () => {
  const global = model(50, 4, () => 0.5);

  it('is local minus global', () => {
    const local = model(50, 4, (name, i) => (name === 'b' && i === 3 ? 1.5 : 0.5));
    const delta = makeDelta(local, global);
    expect(delta.b!.values[3]).toBe(1);
    expect(l2Norm(delta)).toBe(1);
  });

  it('clips long updates to C and leaves short ones alone', () => {
    const long = model(50, 4, () => 1);
    const { clipped, norm } = clipToNorm(long, 2);
    expect(norm).toBeCloseTo(Math.sqrt(16 + 200 + 50), 4);
    expect(l2Norm(clipped)).toBeLessThanOrEqual(2);
    expect(l2Norm(clipped)).toBeCloseTo(2, 4);
    const short = model(50, 4, (name, i) => (name === 'W' && i === 0 ? 0.1 : 0));
    expect(l2Norm(clipToNorm(short, 2).clipped)).toBeCloseTo(0.1, 6);
  });

  it('adds noise of standard deviation σC to every coordinate, so a sparse update becomes dense', () => {
    const local = model(50, 4, (name, i) => (name === 'q' && i < 4 ? 3 : 0.5)); // only item 0 touched
    const result = privatizeDelta(local, global, { clipNorm: 0.5, noiseMultiplier: 2, uniform: seededUniform(1) });
    expect(result.noiseStddev).toBe(1);
    expect(result.local.preClipNorm).toBeCloseTo(5, 5);
    const all = [...result.delta.W!.values, ...result.delta.q!.values, ...result.delta.b!.values];
    expect(all.filter((x) => x === 0)).toHaveLength(0);
    const untouched = [...result.delta.q!.values.slice(4), ...result.delta.b!.values];
    const variance = untouched.reduce((s, x) => s + x * x, 0) / untouched.length;
    expect(variance).toBeGreaterThan(0.7);
    expect(variance).toBeLessThan(1.3);
  });

  it('replays with the same seed and differs without one', () => {
    const delta = model(10, 2, () => 0);
    const a = addGaussianNoise(delta, 1, seededUniform(5));
    expect(addGaussianNoise(delta, 1, seededUniform(5))).toEqual(a);
    expect(addGaussianNoise(delta, 1)).not.toEqual(a);
  });

  it('refuses to export without noise or with a bad update', () => {
    expect(() => privatizeDelta(global, global, { clipNorm: 1, noiseMultiplier: 0 })).toThrow(/not private/);
    const broken = model(50, 4, (_, i) => (i === 2 ? Number.NaN : 0));
    expect(() => privatizeDelta(broken, global, { clipNorm: 1, noiseMultiplier: 1 })).toThrow(/NaN/);
  });
});
