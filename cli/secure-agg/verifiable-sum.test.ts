import { describe, expect, it } from 'vitest';
import { seededUniform } from '../../src/core/federated/random';
import { appVerifiableEpsilon, appVerifiableSettings } from '../../src/core/secagg/verifiable-app';
import { decodeVerifiableSum, encodeForVerifiable, verifiableParams } from '../../src/core/secagg/verifiable/encode';
import { buildReport } from '../../src/core/secagg/verifiable/prio';
import { forgedPine } from '../../src/core/secagg/verifiable/testing';
import { deviceRng } from './replay';
import { aggregatorNoiseRng, benchVerifyKey, verifiableNoiseMultiplier, verifiableRound, type VerifiableRoundSetup } from './verifiable-sum';

// 5 devices, a delta of 300 floats (encoded: 1,024 entries), C = 0.5, z = 1.5: the bench's path at a small length.
const LENGTH = 300;
const CLIP = 0.5;
const Z = 1.5;
const setup: VerifiableRoundSetup = {
  length: LENGTH,
  clipNorm: CLIP,
  noiseMultiplier: Z,
  rotationSeed: Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 255),
  verifyKey: benchVerifyKey(3, 0, 1),
  seed: 3,
  epsilonIndex: 0,
  round: 1,
};

function deltas(n: number): Float32Array[] {
  const u = seededUniform(11);
  // norms around 0.3–0.9: some under C, some clipped
  return Array.from({ length: n }, (_, device) => Float32Array.from({ length: LENGTH }, () => (u() - 0.5) * (0.06 + 0.03 * device)));
}

/** Each device's encoded vector, rebuilt here from the app's settings and the device's seeded rounding. */
function encodings(ds: readonly Float32Array[]): Int32Array[] {
  const settings = appVerifiableSettings({ clipNorm: CLIP, noiseMultiplier: Z });
  return ds.map(
    (delta, device) => encodeForVerifiable(delta, settings, setup.rotationSeed, deviceRng(setup.seed, setup.epsilonIndex, setup.round, device)).values,
  );
}

describe('verifiableRound: the verifiable mode for every device of a bench round', () => {
  it('decodes exactly the sum of the devices’ encoded vectors plus both aggregators’ noise', async () => {
    const ds = deltas(5);
    const result = await verifiableRound(ds, setup, { noiseRng: aggregatorNoiseRng(3, 0, 1) });
    expect(result.accepted).toEqual([0, 1, 2, 3, 4]);
    expect(result.rejected).toEqual([]);
    const encoded = encodings(ds);
    const d = encoded[0]!.length;
    expect(result.integerSum).toHaveLength(d);
    const [a, b] = result.noise;
    const expected = Float64Array.from({ length: d }, (_, j) => encoded.reduce((s, e) => s + e[j]!, 0) + a[j]! + b[j]!);
    expect(Array.from(result.integerSum)).toEqual(Array.from(expected));
    // the noise is each aggregator's own draw at σ = γ_v·z·C (not zero, not shared)
    const sd = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    expect(sd(a) / result.noiseStddev).toBeGreaterThan(0.9);
    expect(sd(a) / result.noiseStddev).toBeLessThan(1.1);
    expect(sd(b) / result.noiseStddev).toBeGreaterThan(0.9);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    // the float sum is that integer sum decoded (÷ γ_v, inverse rotation)
    const settings = appVerifiableSettings({ clipNorm: CLIP, noiseMultiplier: Z });
    expect(Array.from(result.sum)).toEqual(Array.from(decodeVerifiableSum(expected, settings, setup.rotationSeed, LENGTH)));
  }, 60_000);

  it('rejects a forged report (a norm past N claimed as within it) and leaves it out of the sum', async () => {
    const ds = deltas(4);
    const result = await verifiableRound(ds, setup, {
      noiseRng: aggregatorNoiseRng(3, 0, 1),
      // device 2 sends twice its honest vector (‖x‖² ≈ 4·N) with a proof that claims a slack of 0
      forge: async (device, encoded, params) =>
        device === 2
          ? buildReport(
              params,
              encoded.map((v) => Math.max(-512, Math.min(511, 2 * v))), // within the 10-bit offset's range
              forgedPine(params, { checks: (prefix, seed, c) => [...c.slackBits(0n), ...c.wraparoundEncoding(prefix, seed).encoding] }),
            )
          : null,
    });
    expect(result.accepted).toEqual([0, 1, 3]);
    expect(result.rejected).toEqual([2]);
    const encoded = encodings(ds);
    const forged = encoded[2]!.map((v) => Math.max(-512, Math.min(511, 2 * v)));
    const settings = appVerifiableSettings({ clipNorm: CLIP, noiseMultiplier: Z });
    const n = verifiableParams(settings, LENGTH).normBound!;
    expect(forged.reduce((s, v) => s + v * v, 0)).toBeGreaterThan(2 * n); // the forgery is far past N
    const [a, b] = result.noise;
    const expected = Array.from({ length: encoded[0]!.length }, (_, j) => encoded[0]![j]! + encoded[1]![j]! + encoded[3]![j]! + a[j]! + b[j]!);
    expect(Array.from(result.integerSum)).toEqual(expected);
  }, 60_000);

  it('sizes z with the verifiable mode’s accountant: appVerifiableEpsilon at that z is the target', () => {
    for (const [epsilon, rounds] of [
      [8, 5],
      [1, 4],
    ] as const) {
      const z = verifiableNoiseMultiplier(epsilon, 1e-5, rounds, CLIP, 57_000);
      const at = appVerifiableEpsilon({ clipNorm: CLIP, noiseMultiplier: z }, rounds, 1e-5, 57_000);
      expect(at).toBeLessThanOrEqual(epsilon);
      expect(at).toBeGreaterThan(epsilon * 0.999);
    }
  });
});
