/** One global L2 clip of a parameter set: the bound every exported delta's sensitivity rests on. */
import { l2Norm, mapValues, type ParamSet } from './params';

export interface ClipResult {
  clipped: ParamSet;
  /** Norm before clipping. Stays on the device: it says how much the user trained. */
  norm: number;
  /** Factor applied: min(1, C / norm). */
  factor: number;
}

/** Scales the whole set down to L2 norm C when it is longer (one global norm, not per tensor). */
export function clipToNorm(params: ParamSet, clipNorm: number): ClipResult {
  if (!(clipNorm > 0 && Number.isFinite(clipNorm))) throw new RangeError(`clip norm must be positive and finite (got ${clipNorm})`);
  const norm = l2Norm(params);
  if (!Number.isFinite(norm)) throw new RangeError('the update contains NaN or infinite values');
  const factor = norm > clipNorm ? clipNorm / norm : 1;
  // Float32 rounding could leave the clipped norm a hair above C; shrinking by one ulp-sized margin keeps the sensitivity bound exact.
  const safeFactor = factor < 1 ? factor * (1 - 1e-6) : 1;
  return { clipped: mapValues(params, (x) => x * safeFactor), norm, factor: safeFactor };
}
