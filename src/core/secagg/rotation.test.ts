import { describe, expect, it } from 'vitest';
import { seededUniform } from '../federated/random';
import { blockSizes, fwhtInPlace, paddedLength, rotate, rotationSigns, unrotate } from './rotation';

const seed = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

describe('randomized Hadamard rotation', () => {
  it('the fast transform equals the Hadamard matrix H_ij = (−1)^popcount(i & j)', () => {
    const size = 16;
    const uniform = seededUniform(1);
    const x = Float64Array.from({ length: size }, () => uniform() - 0.5);
    const fast = Float64Array.from(x);
    fwhtInPlace(fast);
    for (let i = 0; i < size; i++) {
      let direct = 0;
      for (let j = 0; j < size; j++) {
        let bits = i & j;
        let parity = 0;
        while (bits) {
          parity ^= bits & 1;
          bits >>= 1;
        }
        direct += (parity ? -1 : 1) * x[j]!;
      }
      expect(fast[i]).toBeCloseTo(direct, 12);
    }
  });

  it.each([1, 5, 1024, 1025, 70_001])('is orthogonal: keeps the norm and inverts exactly (length %i)', (length) => {
    const uniform = seededUniform(length);
    const x = Float64Array.from({ length }, () => uniform() * 2 - 1);
    const signs = rotationSigns(seed(3), paddedLength(length));
    const y = rotate(x, signs);
    expect(y.length).toBe(paddedLength(length));
    expect(norm(y)).toBeCloseTo(norm(x), 9);
    const back = unrotate(y, signs);
    let worst = 0;
    for (let i = 0; i < length; i++) worst = Math.max(worst, Math.abs(back[i]! - x[i]!));
    for (let i = length; i < back.length; i++) worst = Math.max(worst, Math.abs(back[i]!));
    expect(worst).toBeLessThan(1e-12);
  });

  it('flattens: a basis vector spreads over its block (every coordinate ±1/√size)', () => {
    const x = new Float64Array(1024);
    x[7] = 1;
    const y = rotate(x, rotationSigns(seed(4), 1024));
    for (const v of y) expect(Math.abs(v)).toBeCloseTo(1 / 32, 12);
  });

  it('the signs are a deterministic function of the seed, balanced, and differ between seeds', () => {
    const a = rotationSigns(seed(1), 4096);
    expect(rotationSigns(seed(1), 4096)).toEqual(a);
    const b = rotationSigns(seed(2), 4096);
    let differ = 0;
    let negative = 0;
    for (let i = 0; i < 4096; i++) {
      if (a[i] !== b[i]) differ++;
      if (a[i] === -1) negative++;
    }
    expect(differ).toBeGreaterThan(1800);
    expect(negative).toBeGreaterThan(1800);
    expect(negative).toBeLessThan(2300);
    // A prefix of a longer expansion is the shorter one: every length agrees on the shared coordinates.
    expect(rotationSigns(seed(1), 1000)).toEqual(a.subarray(0, 1000));
  });

  it('refuses a short seed', () => {
    expect(() => rotationSigns(new Uint8Array(8), 16)).toThrow(/at least 16 bytes/);
  });

  it('pads to a multiple of 1,024 in power-of-two blocks: the app delta (346,384) costs 0.2 %', () => {
    expect(paddedLength(1)).toBe(1);
    expect(paddedLength(5)).toBe(8);
    expect(paddedLength(1024)).toBe(1024);
    expect(paddedLength(1025)).toBe(2048);
    expect(paddedLength(346_384)).toBe(347_136);
    const blocks = blockSizes(347_136);
    expect(blocks.reduce((a, b) => a + b, 0)).toBe(347_136);
    expect(blocks).toEqual([65536, 65536, 65536, 65536, 65536, 16384, 2048, 1024]);
    for (let length = 1; length < 5000; length += 37) {
      const padded = paddedLength(length);
      expect(padded).toBeGreaterThanOrEqual(length);
      expect(padded - length).toBeLessThan(Math.max(length, 1024));
      for (const b of blockSizes(padded)) expect(b & (b - 1)).toBe(0);
    }
  });
});
