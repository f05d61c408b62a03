/**
 * Building an exportable model update: Δ = local − global over the shared parameters
 * (W, q, b, ranker; never the user vector), clipped to L2 norm C, then Gaussian noise of standard
 * deviation σ·C added to every coordinate. The noise is deliberately dense: rows of q the user
 * never touched are exactly zero before noise, so sparse noise (or skipping zero rows) would
 * publish the set of items the user interacted with (privacy invariant 4).
 */
import { clipToNorm } from './clip';
import { clipByGroups, type ClipShares } from './group-clip';
import { cryptoUniform, gaussianSource, type Uniform } from '../random';
import { paramNames, subtract, type ParamSet } from './params';

export { clipToNorm, type ClipResult } from './clip';

/** local − global, tensor by tensor; the two must have the same names and shapes. */
export function makeDelta(local: ParamSet, global: ParamSet): ParamSet {
  return subtract(local, global);
}

/** A copy with N(0, stddev²) noise added to every coordinate of every tensor, in sorted name order. */
export function addGaussianNoise(params: ParamSet, stddev: number, uniform: Uniform = cryptoUniform()): ParamSet {
  if (!(stddev >= 0 && Number.isFinite(stddev))) throw new RangeError(`noise standard deviation must be finite and non-negative (got ${stddev})`);
  const normal = gaussianSource(uniform);
  const out: ParamSet = {};
  for (const name of paramNames(params)) {
    const { shape, values } = params[name]!;
    const noisy = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) noisy[i] = values[i]! + stddev * normal();
    out[name] = { shape: [...shape], values: noisy };
  }
  return out;
}

export interface PrivatizeOptions {
  clipNorm: number;
  /** σ: noise standard deviation over C. */
  noiseMultiplier: number;
  /** Source of uniform randomness; the CSPRNG unless a test injects a seeded one. */
  uniform?: Uniform;
  /**
   * Per-group clipping (group-clip.ts): each group to C·√share, shares summing to 1, so the total
   * norm, the noise and ε are those of one clip to C. Absent: one global clip.
   */
  clipShares?: ClipShares;
}

export interface PrivateDelta {
  delta: ParamSet;
  clipNorm: number;
  noiseMultiplier: number;
  /** σ·C, the noise standard deviation actually used. */
  noiseStddev: number;
  /** Local information for the UI ("your update was clipped"); never written into an export. */
  /** clipFactor: the factor applied; with clip shares each group has its own, and this is min(1, C / total norm), indicative only. */
  local: { preClipNorm: number; clipFactor: number };
}

/**
 * The whole export path: Δ = local − global, clip to C, add N(0, (σC)²) to every coordinate.
 * Parameters outside the shared set (the user vector) must not be passed in; the caller selects
 * W, q, b and the ranker, and the file format has no field for anything else.
 */
export function privatizeDelta(local: ParamSet, global: ParamSet, options: PrivatizeOptions): PrivateDelta {
  const { clipNorm, noiseMultiplier } = options;
  if (!(noiseMultiplier > 0 && Number.isFinite(noiseMultiplier))) {
    throw new RangeError(`noise multiplier must be positive and finite (got ${noiseMultiplier}); an export without noise is not private`);
  }
  const raw = makeDelta(local, global);
  const { clipped, norm, factor } = options.clipShares
    ? (() => {
        const grouped = clipByGroups(raw, clipNorm, options.clipShares!);
        return { ...grouped, factor: grouped.norm > clipNorm ? clipNorm / grouped.norm : 1 };
      })()
    : clipToNorm(raw, clipNorm);
  const noiseStddev = noiseMultiplier * clipNorm;
  return {
    delta: addGaussianNoise(clipped, noiseStddev, options.uniform ?? cryptoUniform()),
    clipNorm,
    noiseMultiplier,
    noiseStddev,
    local: { preClipNorm: norm, clipFactor: factor },
  };
}
