/**
 * Server-side denoising of the averaged noisy update, as pure post-processing (it reads only the
 * released deltas and the public noise scale, so it costs no privacy). Each device adds N(0, (σC)²)
 * per coordinate, so the mean of m deltas carries noise of variance v = (σC)²/m per coordinate.
 * For a tensor with P coordinates, E‖mean‖² = ‖signal‖² + P·v, and the positive-part James–Stein
 * factor max(0, 1 − (P − 2)·v / ‖mean‖²) shrinks the update towards zero in proportion to how much of
 * its length is noise. Without it, a noisy round can leave the model worse than not federating at all.
 */
import { paramNames, type ParamSet } from '../../src/core/federated/params';

export interface ShrinkResult {
  params: ParamSet;
  /** The factor applied to each tensor (1 = kept, 0 = dropped). */
  factors: Record<string, number>;
}

export function jamesSteinShrink(mean: ParamSet, noiseVariance: number): ShrinkResult {
  if (!(noiseVariance >= 0 && Number.isFinite(noiseVariance))) throw new RangeError(`noise variance must be finite and non-negative (got ${noiseVariance})`);
  const params: ParamSet = {};
  const factors: Record<string, number> = {};
  for (const name of paramNames(mean)) {
    const { shape, values } = mean[name]!;
    let squared = 0;
    for (let i = 0; i < values.length; i++) squared += values[i]! ** 2;
    const factor = noiseVariance === 0 ? 1 : squared > 0 ? Math.max(0, 1 - (Math.max(values.length - 2, 0) * noiseVariance) / squared) : 0;
    factors[name] = factor;
    params[name] = { shape: [...shape], values: values.map((x) => x * factor) };
  }
  return { params, factors };
}
