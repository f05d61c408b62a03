import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../../src/core/federated/random';
import { jamesSteinShrink, jamesSteinShrinkRows } from './shrink';

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

describe('jamesSteinShrinkRows', () => {
  it('keeps the strong rows and zeroes the noise rows that one factor for the tensor would keep together', () => {
    const rows = 200;
    const cols = 32;
    const std = 0.1;
    // 10 strong rows (signal 1 per entry), 190 rows of pure noise: a tensor-wide factor keeps some of every row.
    const signal = Array.from({ length: rows * cols }, (_, j) => (Math.floor(j / cols) < 10 ? 1 : 0));
    const mean = { q: { shape: [rows, cols], values: noisy(signal, std) }, b: { shape: [3], values: Float32Array.of(5, -5, 5) } };
    const whole = jamesSteinShrink({ q: mean.q }, std ** 2);
    expect(whole.factors.q).toBeGreaterThan(0.5);
    const { params, factors, keptRows } = jamesSteinShrinkRows(mean, std ** 2, ['q']);
    for (let r = 0; r < 10; r++) expect(params.q!.values[r * cols]!).toBeGreaterThan(0.6);
    expect(keptRows.q!).toBeLessThan(0.5);
    let noiseLeft = 0;
    let noiseLeftWhole = 0;
    for (let j = 10 * cols; j < rows * cols; j++) {
      noiseLeft += params.q!.values[j]! ** 2;
      noiseLeftWhole += whole.params.q!.values[j]! ** 2;
    }
    expect(noiseLeft).toBeLessThan(0.2 * noiseLeftWhole);
    // b is shrunk as one tensor, as jamesSteinShrink does.
    expect(factors.b).toBeCloseTo(jamesSteinShrink({ b: mean.b }, std ** 2).factors.b!, 10);
  });

  it('refuses a row-wise tensor that is not 2-D', () => {
    expect(() => jamesSteinShrinkRows({ q: { shape: [4], values: new Float32Array(4) } }, 1, ['q'])).toThrow(RangeError);
  });
});
