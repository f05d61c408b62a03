/**
 * Server-side denoising of the averaged noisy update, as pure post-processing (it reads only the
 * released deltas and the public noise scale, so it costs no privacy). Each device adds N(0, (σC)²)
 * per coordinate, so the mean of m deltas carries noise of variance v = (σC)²/m per coordinate.
 * For a tensor with P coordinates, E‖mean‖² = ‖signal‖² + P·v, and the positive-part James–Stein
 * factor max(0, 1 − (P − 2)·v / ‖mean‖²) shrinks the update towards zero in proportion to how much of
 * its length is noise. Without it, a noisy round can leave the model worse than not federating at all.
 * When the signal is nil that factor is not 0 but a small random positive number half the time
 * (‖noise‖² fluctuates by v·√(2P)), which still lets noise in round after round; so a tensor is kept
 * only if ‖mean‖² exceeds P·v by `threshold` of those standard deviations (default 3).
 */
import { paramNames, type ParamSet } from '../../src/core/federated/params';

export interface ShrinkResult {
  params: ParamSet;
  /** The factor applied to each tensor (1 = kept, 0 = dropped). */
  factors: Record<string, number>;
}

export function jamesSteinShrink(mean: ParamSet, noiseVariance: number, threshold = 3): ShrinkResult {
  if (!(noiseVariance >= 0 && Number.isFinite(noiseVariance))) throw new RangeError(`noise variance must be finite and non-negative (got ${noiseVariance})`);
  const params: ParamSet = {};
  const factors: Record<string, number> = {};
  for (const name of paramNames(mean)) {
    const { shape, values } = mean[name]!;
    let squared = 0;
    for (let i = 0; i < values.length; i++) squared += values[i]! ** 2;
    const P = values.length;
    const significant = squared > noiseVariance * (P + threshold * Math.sqrt(2 * P));
    const factor = noiseVariance === 0 ? 1 : significant ? Math.max(0, 1 - (Math.max(P - 2, 0) * noiseVariance) / squared) : 0;
    factors[name] = factor;
    params[name] = { shape: [...shape], values: values.map((x) => x * factor) };
  }
  return { params, factors };
}
