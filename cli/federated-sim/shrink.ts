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

/**
 * The same positive-part James–Stein shrinkage, row by row for the tensors named in `rowWise` (each row
 * of a rows×cols tensor is its own estimate: q's rows are items, and a popular item's row carries far
 * more signal than a rare one's, which a single factor for the whole tensor cannot tell apart), per
 * tensor for the others. Post-processing of the released mean, like jamesSteinShrink. `factors` holds,
 * for a row-wise tensor, the mean factor over its rows, and `keptRows` the share of rows not zeroed.
 */
export function jamesSteinShrinkRows(
  mean: ParamSet,
  noiseVariance: number,
  rowWise: readonly string[],
  threshold = 3,
  rowThreshold = 0,
): ShrinkResult & { keptRows: Record<string, number> } {
  const whole = jamesSteinShrink(
    Object.fromEntries(paramNames(mean).filter((name) => !rowWise.includes(name)).map((name) => [name, mean[name]!])),
    noiseVariance,
    threshold,
  );
  const params: ParamSet = { ...whole.params };
  const factors: Record<string, number> = { ...whole.factors };
  const keptRows: Record<string, number> = {};
  for (const name of rowWise) {
    const tensor = mean[name];
    if (!tensor) continue;
    if (tensor.shape.length !== 2) throw new RangeError(`row-wise shrinkage needs a 2-D tensor; ${name} has shape [${tensor.shape.join(', ')}]`);
    const [rows, cols] = tensor.shape as [number, number];
    const values = Float32Array.from(tensor.values);
    let factorSum = 0;
    let kept = 0;
    for (let r = 0; r < rows; r++) {
      const row = values.subarray(r * cols, (r + 1) * cols);
      const squared = row.reduce((a, x) => a + x * x, 0);
      const significant = squared > noiseVariance * (cols + rowThreshold * Math.sqrt(2 * cols));
      const factor = noiseVariance === 0 ? 1 : significant ? Math.max(0, 1 - (Math.max(cols - 2, 0) * noiseVariance) / squared) : 0;
      for (let c = 0; c < cols; c++) row[c]! *= factor;
      factorSum += factor;
      if (factor > 0) kept++;
    }
    params[name] = { shape: [rows, cols], values };
    factors[name] = rows > 0 ? factorSum / rows : 1;
    keptRows[name] = rows > 0 ? kept / rows : 1;
  }
  return { params, factors, keptRows };
}
