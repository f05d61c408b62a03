/**
 * What one simulated device computes, in plain typed-array SGD (no TF.js): building a TF.js graph
 * per client for ~100 interactions costs more than the arithmetic itself, and the simulation runs
 * thousands of clients. The loss is the one trainBpr minimises (BPR on (positive, sampled unseen)
 * pairs, L2 on the touched rows) for the model of src/core/model/hybrid.ts:
 *     v_i = W·e_i + q_i,   s(u, i) = u·v_i + b_i.
 *
 * W is held in reduced coordinates: `text` holds each item's embedding projected onto k fixed,
 * public directions (the catalog's principal directions), so W is d×k instead of d×512. Because the
 * directions are orthonormal, a delta of W has the same L2 norm in either coordinates (clipping is
 * unchanged) and isotropic noise projected onto them is isotropic noise of the same scale there.
 */
import { seededUniform, shuffleInPlace, type Uniform } from '../../src/core/federated/random';

/** The shared (federated) parameters; the user vector is never part of them. */
export interface SharedParams {
  /** d×k, row-major: the projection in reduced coordinates. */
  W: Float32Array;
  /** itemCount×d: item residuals. */
  q: Float32Array;
  /** itemCount: item biases. */
  b: Float32Array;
}

export interface ModelShape {
  itemCount: number;
  /** d */
  factors: number;
  /** k: size of the reduced text embeddings. */
  textDim: number;
}

export interface SgdOptions {
  epochs: number;
  learningRate: number;
  /** L2 on u and on the touched rows of q and b (W is left unregularised: it is shared and moves slowly). */
  l2: number;
  uniform: Uniform;
}

export function cloneShared(params: SharedParams): SharedParams {
  return { W: Float32Array.from(params.W), q: Float32Array.from(params.q), b: Float32Array.from(params.b) };
}

/** v_i = W·ẽ_i + q_i for every item (itemCount×d): what a device with frozen shared params scores with. */
export function itemVectors(params: SharedParams, text: Float32Array, shape: ModelShape): Float32Array {
  const { itemCount, factors: d } = shape;
  const out = new Float32Array(itemCount * d);
  for (let i = 0; i < itemCount; i++) itemVectorInto(params, text, shape, i, out.subarray(i * d, (i + 1) * d));
  return out;
}

function itemVectorInto(params: SharedParams, text: Float32Array, shape: ModelShape, item: number, out: Float32Array): void {
  const { factors: d, textDim: k } = shape;
  const e = item * k;
  for (let f = 0; f < d; f++) {
    let sum = params.q[item * d + f]!;
    const w = f * k;
    for (let t = 0; t < k; t++) sum += params.W[w + t]! * text[e + t]!;
    out[f] = sum;
  }
}

/** A uniformly random item the user has not interacted with (rejection sampling: users see a small share of the catalog). */
export function sampleUnseen(seen: ReadonlySet<number>, itemCount: number, uniform: Uniform): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const item = Math.floor(uniform() * itemCount);
    if (!seen.has(item)) return item;
  }
  throw new RangeError('could not sample an unseen item: the user has interacted with almost every item');
}

/** σ(−x) = −∂(−ln σ(x))/∂x, the size of a BPR step, without overflow for large |x|. */
function sigmoidOfNegative(x: number): number {
  return x >= 0 ? Math.exp(-x) / (1 + Math.exp(-x)) : 1 / (1 + Math.exp(x));
}

/**
 * Fits a user vector from zero against frozen item vectors and biases: what a device does with a new
 * global model before it ranks anything (and what the evaluation does for every user each round).
 * One epoch = one pass over the positives, each paired with a fresh sampled unseen item.
 */
export function fitUserVector(
  vectors: Float32Array,
  biases: Float32Array,
  factors: number,
  positives: Int32Array,
  seen: ReadonlySet<number>,
  options: SgdOptions,
): Float32Array {
  const d = factors;
  const itemCount = biases.length;
  const user = new Float32Array(d);
  const order = Int32Array.from(positives);
  const { learningRate: lr, l2, uniform } = options;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffleInPlace(order, uniform);
    for (const p of order) {
      const n = sampleUnseen(seen, itemCount, uniform);
      let x = biases[p]! - biases[n]!;
      for (let f = 0; f < d; f++) x += user[f]! * (vectors[p * d + f]! - vectors[n * d + f]!);
      const g = sigmoidOfNegative(x);
      for (let f = 0; f < d; f++) user[f]! += lr * (g * (vectors[p * d + f]! - vectors[n * d + f]!) - l2 * user[f]!);
    }
  }
  return user;
}

/**
 * Local training on one device: joint SGD on its user vector (in place) and its local copy of the
 * shared parameters (in place), over its own positives only. Returns the mean BPR loss of the last epoch.
 */
export function trainLocal(
  local: SharedParams,
  user: Float32Array,
  text: Float32Array,
  shape: ModelShape,
  positives: Int32Array,
  seen: ReadonlySet<number>,
  options: SgdOptions & { trainProjection?: boolean; trainResiduals?: boolean },
): number {
  const { factors: d, textDim: k, itemCount } = shape;
  const { learningRate: lr, l2, uniform } = options;
  const trainProjection = options.trainProjection ?? true;
  // Off when q is not exported: a local q that is thrown away would absorb the gradient W and b should carry.
  const trainResiduals = options.trainResiduals ?? true;
  const vp = new Float32Array(d);
  const vn = new Float32Array(d);
  const order = Int32Array.from(positives);
  let lastLoss = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffleInPlace(order, uniform);
    let lossSum = 0;
    for (const p of order) {
      const n = sampleUnseen(seen, itemCount, uniform);
      itemVectorInto(local, text, shape, p, vp);
      itemVectorInto(local, text, shape, n, vn);
      let x = local.b[p]! - local.b[n]!;
      for (let f = 0; f < d; f++) x += user[f]! * (vp[f]! - vn[f]!);
      lossSum += x >= 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x));
      const g = sigmoidOfNegative(x);
      for (let f = 0; f < d; f++) {
        const uf = user[f]!;
        user[f] = uf + lr * (g * (vp[f]! - vn[f]!) - l2 * uf);
        if (trainResiduals) {
          local.q[p * d + f]! += lr * (g * uf - l2 * local.q[p * d + f]!);
          local.q[n * d + f]! += lr * (-g * uf - l2 * local.q[n * d + f]!);
        }
        if (trainProjection) {
          // ∂x/∂W[f, t] = u_f (ẽ_p,t − ẽ_n,t)
          const step = lr * g * uf;
          const w = f * k;
          for (let t = 0; t < k; t++) local.W[w + t]! += step * (text[p * k + t]! - text[n * k + t]!);
        }
      }
      local.b[p]! += lr * (g - l2 * local.b[p]!);
      local.b[n]! += lr * (-g - l2 * local.b[n]!);
    }
    lastLoss = order.length > 0 ? lossSum / order.length : 0;
  }
  return lastLoss;
}

/** A per-client seeded stream, so a client's local training is the same whatever else ran before it. */
export function clientUniform(seed: number, round: number, client: number): Uniform {
  return seededUniform((seed * 1_000_003 + round * 10_007 + client) >>> 0);
}
