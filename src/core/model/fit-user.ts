/**
 * A user's vector fitted to their history with the central trainer's own objective (trainSoftmax's
 * multinomial likelihood over every item), the item side held fixed:
 *
 *   F(u) = Σ_{i∈I_u} w_i · log softmax_j(u·v_j + b_j)_i − (λ/2)·‖u‖²
 *
 * F is concave in u (a log-sum-exp of linear functions, minus a ridge), so Newton's method reaches its
 * maximum in a few steps: each step costs one pass over the items for the gradient and the d×d Hessian
 * (n·d² multiply-adds: ~40 M for 10,000 items and d = 64) and a Cholesky solve. The quality bench's
 * reference for the engine's TF.js fine-tune (`hybrid-device-newton`): the maximum that fine-tune
 * approaches. Written by hand: the one library piece it needs, a Cholesky solve (ml-matrix has one),
 * is 25 lines here.
 */
export interface FitUserOptions {
  /** λ of the ridge (−λ/2·‖u‖²); > 0, so the problem has one maximum. */
  l2: number;
  /** At most this many Newton steps (default 20). */
  iterations?: number;
  /** Stop when a step moves u by less than this (L2 norm; default 1e-5). */
  tolerance?: number;
}

export interface FitUserResult {
  user: Float32Array;
  /** F(u) after each accepted step, the start first. */
  objective: number[];
}

/**
 * @param vectors v_j, itemCount×d row-major (HybridModel.itemVectors())
 * @param biases b_j, or null for none
 * @param items the history's items (repeats add up), @param weights their weights (> 0 count)
 * Newton starts at u = 0, a new user's vector.
 */
export function fitUserSoftmax(
  vectors: Float32Array,
  biases: Float32Array | null,
  d: number,
  items: readonly number[],
  weights: readonly number[],
  options: FitUserOptions,
): FitUserResult {
  const n = vectors.length / d;
  if (!Number.isInteger(n)) throw new RangeError('vectors must hold itemCount × d values');
  if (items.length !== weights.length) throw new RangeError('items and weights differ in length');
  if (!(options.l2 > 0)) throw new RangeError('l2 must be > 0');
  const lambda = options.l2;
  const iterations = options.iterations ?? 20;
  const tolerance = options.tolerance ?? 1e-5;
  const u = new Float64Array(d);
  // Σ w_i v_i and Σ w_i b_i: the linear part of F.
  const target = new Float64Array(d);
  let targetBias = 0;
  let total = 0;
  items.forEach((item, k) => {
    const w = weights[k]!;
    if (!(w > 0)) return;
    if (!(item >= 0 && item < n)) throw new RangeError(`item ${item} is outside the catalog`);
    for (let f = 0; f < d; f++) target[f]! += w * vectors[item * d + f]!;
    if (biases) targetBias += w * biases[item]!;
    total += w;
  });
  const logits = new Float64Array(n);
  /** F(x), and the logits at x left in `logits` (the next Newton step reads them at the accepted u). */
  const objectiveAt = (x: Float64Array): number => {
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      let z = biases ? biases[j]! : 0;
      for (let f = 0; f < d; f++) z += vectors[j * d + f]! * x[f]!;
      logits[j] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(logits[j]! - max);
    let linear = targetBias;
    let norm = 0;
    for (let f = 0; f < d; f++) {
      linear += target[f]! * x[f]!;
      norm += x[f]! * x[f]!;
    }
    return linear - total * (max + Math.log(sum)) - (lambda / 2) * norm;
  };
  const result: number[] = [];
  if (total === 0) return { user: Float32Array.from(u), objective: [0] };
  let value = objectiveAt(u);
  result.push(value);
  const mean = new Float64Array(d);
  const hessian = new Float64Array(d * d);
  const step = new Float64Array(d);
  const trial = new Float64Array(d);
  for (let iteration = 0; iteration < iterations; iteration++) {
    // p = softmax(logits) at u; m = Σ p_j v_j; S = Σ p_j v_j v_jᵀ.
    let max = -Infinity;
    for (let j = 0; j < n; j++) if (logits[j]! > max) max = logits[j]!;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(logits[j]! - max);
    mean.fill(0);
    hessian.fill(0);
    for (let j = 0; j < n; j++) {
      const p = Math.exp(logits[j]! - max) / sum;
      if (p < 1e-12) continue;
      const row = j * d;
      for (let f = 0; f < d; f++) {
        const pv = p * vectors[row + f]!;
        mean[f]! += pv;
        for (let g = 0; g <= f; g++) hessian[f * d + g]! += pv * vectors[row + g]!;
      }
    }
    // −∇²F = total·(S − m mᵀ) + λI (positive definite); ∇F = Σ w v − total·m − λu.
    for (let f = 0; f < d; f++) {
      for (let g = 0; g <= f; g++) hessian[f * d + g] = total * (hessian[f * d + g]! - mean[f]! * mean[g]!) + (f === g ? lambda : 0);
      step[f] = target[f]! - total * mean[f]! - lambda * u[f]!;
    }
    choleskySolveInPlace(hessian, step, d);
    // Backtracking: Newton's full step, halved until F rises (it does at once near the maximum).
    let scale = 1;
    let accepted = false;
    for (let tries = 0; tries < 30; tries++) {
      for (let f = 0; f < d; f++) trial[f] = u[f]! + scale * step[f]!;
      const next = objectiveAt(trial);
      if (next >= value) {
        u.set(trial);
        value = next;
        accepted = true;
        break;
      }
      scale /= 2;
    }
    if (!accepted) break;
    result.push(value);
    let moved = 0;
    for (let f = 0; f < d; f++) moved += (scale * step[f]!) ** 2;
    if (Math.sqrt(moved) < tolerance) break;
  }
  return { user: Float32Array.from(u), objective: result };
}

/** Solves A·x = b for a symmetric positive definite A (its lower triangle, row-major d×d; overwritten by L), x into b. */
function choleskySolveInPlace(a: Float64Array, b: Float64Array, d: number): void {
  for (let j = 0; j < d; j++) {
    let diagonal = a[j * d + j]!;
    for (let k = 0; k < j; k++) diagonal -= a[j * d + k]! ** 2;
    if (!(diagonal > 0)) throw new RangeError('the Hessian is not positive definite');
    const root = Math.sqrt(diagonal);
    a[j * d + j] = root;
    for (let i = j + 1; i < d; i++) {
      let value = a[i * d + j]!;
      for (let k = 0; k < j; k++) value -= a[i * d + k]! * a[j * d + k]!;
      a[i * d + j] = value / root;
    }
  }
  for (let i = 0; i < d; i++) {
    let value = b[i]!;
    for (let k = 0; k < i; k++) value -= a[i * d + k]! * b[k]!;
    b[i] = value / a[i * d + i]!;
  }
  for (let i = d - 1; i >= 0; i--) {
    let value = b[i]!;
    for (let k = i + 1; k < d; k++) value -= a[k * d + i]! * b[k]!;
    b[i] = value / a[i * d + i]!;
  }
}
