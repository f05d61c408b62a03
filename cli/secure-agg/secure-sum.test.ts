import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../../src/core/federated/random';
import { sumNoiseVariance, type DistributedNoiseSettings } from '../../src/core/secagg/encode';
import { firstDifference, plainSumMod32, secureRound } from './secure-sum';

describe('plainSumMod32', () => {
  it('adds modulo 2^32 and only the included vectors', () => {
    const a = Uint32Array.of(0xffff_ffff, 5, 0);
    const b = Uint32Array.of(2, 0xffff_fffe, 7);
    const c = Uint32Array.of(100, 100, 100);
    expect([...plainSumMod32([a, b])]).toEqual([1, 3, 7]);
    expect([...plainSumMod32([a, b, c], new Set([0, 2]))]).toEqual([99, 105, 100]);
  });

  it('refuses vectors of different lengths', () => {
    expect(() => plainSumMod32([new Uint32Array(3), new Uint32Array(2)])).toThrow(/vector 1 has 2 entries/);
  });
});

describe('firstDifference', () => {
  it('finds the first differing entry, −1 when equal', () => {
    expect(firstDifference(Uint32Array.of(1, 2, 3), Uint32Array.of(1, 2, 3))).toBe(-1);
    expect(firstDifference(Uint32Array.of(1, 2, 3), Uint32Array.of(1, 9, 3))).toBe(1);
    expect(firstDifference(Uint32Array.of(1, 2), Uint32Array.of(1, 2, 3))).toBe(2);
  });
});

describe('secureRound (encodeForSum → simulateRound → decodeSum)', () => {
  const length = 300;
  const devices = 6;
  const gaussian = gaussianSource(seededUniform(5));
  // Norms around 0.5–1.5 with C = 1: some deltas are clipped, some not.
  const deltas = Array.from({ length: devices }, (_, d) => Float32Array.from({ length }, () => (gaussian() * (0.5 + d * 0.2)) / Math.sqrt(length)));
  const clipped = deltas.map((delta) => {
    const norm = Math.hypot(...delta);
    return delta.map((x) => (norm > 1 ? x / norm : x));
  });
  const settings: DistributedNoiseSettings = { clipNorm: 1, noiseMultiplier: 0.005, expectedCohort: devices, dropoutTolerance: 1 / 3, bits: 32 };
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
  const rng = (device: number) => seededUniform(1000 + device);

  /** Largest |decoded − Σ clipped| over the coordinates, in units of the sum's noise stddev. */
  const worstError = (decoded: Float32Array, members: number[], survivors: number): number => {
    const sd = Math.sqrt(sumNoiseVariance(settings, survivors));
    let worst = 0;
    for (let j = 0; j < length; j++) {
      const expected = members.reduce((s, d) => s + clipped[d]![j]!, 0);
      worst = Math.max(worst, Math.abs(decoded[j]! - expected) / sd);
    }
    return worst;
  };

  it('decodes the float sum of the clipped deltas, within the noise', async () => {
    const result = await secureRound(deltas, settings, seed, { roundId: 'test-full', encodeRng: rng });
    expect(result.survivors).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.sum.length).toBe(length);
    // 300 coordinates of a Gaussian-like error: beyond 5 SD would be a bug (probability ~1e-4).
    expect(worstError(result.sum, [0, 1, 2, 3, 4, 5], 6)).toBeLessThan(5);
    // And it is not the sum without one device (whose clipped delta is ~1 in norm, far above the noise).
    expect(worstError(result.sum, [0, 1, 2, 3, 4], 6)).toBeGreaterThan(5);
    expect(result.bytesUpPerDevice).toBeGreaterThan(4 * result.encoded[0]!.length);
  });

  it('with devices dropping after the masked upload, decodes exactly the survivors’ sum', async () => {
    const dropAfterMasked = new Set([1, 4]);
    const result = await secureRound(deltas, settings, seed, { roundId: 'test-drop', dropAfterMasked, encodeRng: rng });
    // Devices that uploaded their masked vector are in the sum even if they never answered the unmask step:
    // the same sum as a round where nobody drops.
    expect(result.survivors).toEqual([0, 1, 2, 3, 4, 5]);
    const full = await secureRound(deltas, settings, seed, { roundId: 'test-full-2', encodeRng: rng });
    expect(firstDifference(result.integerSum, full.integerSum)).toBe(-1);
    expect(firstDifference(result.integerSum, plainSumMod32(result.encoded))).toBe(-1);
    expect(worstError(result.sum, [0, 1, 2, 3, 4, 5], 6)).toBeLessThan(5);
  });

  it('refuses deltas of different lengths', async () => {
    await expect(secureRound([new Float32Array(4), new Float32Array(5)], settings, seed, { roundId: 'bad' })).rejects.toThrow(/device 1's delta has 5 entries/);
  });
});
