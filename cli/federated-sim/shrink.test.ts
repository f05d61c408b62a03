import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../../src/core/federated/random';
import { jamesSteinShrink } from './shrink';

const normal = gaussianSource(seededUniform(11));
const noisy = (signal: number[], std: number): Float32Array => Float32Array.from(signal, (s) => s + std * normal());

describe('jamesSteinShrink', () => {
  it('keeps an update untouched when there is no noise', () => {
    const mean = { b: { shape: [3], values: Float32Array.of(1, -2, 3) } };
    const { params, factors } = jamesSteinShrink(mean, 0);
    expect(factors.b).toBe(1);
    expect(params.b!.values).toEqual(mean.b.values);
  });

  it('drops (almost) pure noise and keeps a strong signal, tensor by tensor', () => {
    const n = 5000;
    const std = 0.5;
    const mean = {
      noise: { shape: [n], values: noisy(new Array(n).fill(0), std) },
      strong: { shape: [n], values: noisy(Array.from({ length: n }, (_, i) => (i % 2 ? 5 : -5)), std) },
    };
    const { factors } = jamesSteinShrink(mean, std * std);
    expect(factors.noise).toBe(0); // not a small positive factor that lets noise in every round
    expect(factors.strong).toBeGreaterThan(0.98);
  });

  it('lowers the squared error of a weak signal compared with the raw noisy mean', () => {
    const n = 2000;
    const std = 1;
    const signal = Array.from({ length: n }, (_, i) => Math.sin(i) * 0.8);
    const raw = noisy(signal, std);
    const { params } = jamesSteinShrink({ x: { shape: [n], values: raw } }, std * std);
    const error = (v: Float32Array): number => v.reduce((s, x, i) => s + (x - signal[i]!) ** 2, 0);
    expect(error(params.x!.values)).toBeLessThan(0.7 * error(raw));
  });
});
