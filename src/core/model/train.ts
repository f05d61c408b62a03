/**
 * Mini-batch BPR training with TensorFlow.js (tf.train optimizers, autodiff), the same code for a
 * publisher's global model over many users (cli/train-global.ts, the quality bench) and for the
 * periodic fine-tune over one user's local history in the worker. Backend-agnostic: it runs on
 * whatever TF.js backend the caller made active (webgpu, webgl, wasm, cpu).
 */
import * as tf from '@tensorflow/tfjs';
import type { EventKind } from '../events';
import { gaussianSource, seededUniform, shuffleInPlace, type Uniform } from '../federated/random';
import { multiplyTransposed } from '../vector';
import { EVENT_WEIGHTS } from './bpr';
import type { HybridModel } from './hybrid';
import { principalDirections } from './pca';

export interface TrainingData {
  userCount: number;
  /** Positive interactions, one per index: user, item and how much it counts (EVENT_WEIGHTS, ratings…). */
  users: Int32Array;
  items: Int32Array;
  weights: Float32Array;
  /** Per user, items that are explicit negatives (disliked, shown and skipped). */
  explicitNegatives?: readonly (readonly number[])[];
  /**
   * Items random negatives are drawn from (default: every item). Evaluation of cold-start items
   * restricts it to items seen in training, so a held-out item never receives a gradient.
   */
  negativePool?: Int32Array;
}

export interface EpochProgress {
  epoch: number;
  epochs: number;
  /** Mean weighted BPR loss over the epoch's pairs, plus the L2 penalty (what the optimizer minimises). */
  loss: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 on the rows a batch touches (u, q, b) and on W. */
  l2?: number;
  seed?: number;
  /** false: plain BPR-MF, v_i = q_i (W is set to zero). */
  useText?: boolean;
  trainProjection?: boolean;
  trainResiduals?: boolean;
  trainBiases?: boolean;
  trainUsers?: boolean;
  /** Chance of taking an explicit negative (when the user has any) rather than a random unseen item. */
  explicitNegativeRate?: number;
  /** W is trained inside the top-k principal subspace of the embeddings (k = this), which makes a step ~4× cheaper at D = 512. */
  subspace?: number;
  /** Initial user vectors (userCount×d); default small seeded Gaussian values. */
  initialUsers?: Float32Array;
  /** Initial scale of q when it starts at zero and there is no text (MF needs asymmetry to start). */
  initScale?: number;
  onEpoch?: (progress: EpochProgress) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface TrainResult {
  /** userCount×d, row-major. */
  userVectors: Float32Array;
  losses: number[];
}

/** Gather rows with a gradient through scatterND: tfjs-backend-wasm has no UnsortedSegmentSum, which tf.gather's gradient needs. */
function gatherRows(params: tf.Tensor, indices: tf.Tensor1D): tf.Tensor {
  const gather = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const p = inputs[0] as tf.Tensor;
    return {
      value: tf.gather(p, indices),
      gradFunc: (dy: tf.Tensor) => tf.scatterND(tf.expandDims(indices, 1), dy, p.shape),
    };
  });
  return gather(params);
}

function gaussianArray(length: number, scale: number, uniform: Uniform): Float32Array {
  const normal = gaussianSource(uniform);
  return Float32Array.from({ length }, () => normal() * scale);
}

/**
 * Trains the model in place (W, q, b as options allow) and returns the user vectors and the loss
 * curve. Deterministic for a seed on a given backend; backends agree to float32 rounding.
 */
export async function trainBpr(model: HybridModel, data: TrainingData, options: TrainOptions): Promise<TrainResult> {
  const d = model.factors;
  const n = model.itemCount;
  const D = model.embeddingDim;
  const useText = options.useText ?? true;
  const trainProjection = useText && (options.trainProjection ?? true);
  const trainResiduals = options.trainResiduals ?? true;
  const trainBiases = options.trainBiases ?? true;
  const trainUsers = options.trainUsers ?? true;
  const batchSize = options.batchSize ?? 1024;
  const l2 = options.l2 ?? 1e-4;
  const explicitRate = options.explicitNegativeRate ?? 0.5;
  const uniform = seededUniform(options.seed ?? 42);
  const count = data.users.length;
  if (data.items.length !== count || data.weights.length !== count) throw new RangeError('users, items and weights differ in length');

  if (!useText) model.W.fill(0);
  if (!useText && trainResiduals && model.q.every((x) => x === 0)) {
    model.q = gaussianArray(n * d, options.initScale ?? 0.1, uniform);
  }
  const seen: Set<number>[] = Array.from({ length: data.userCount }, () => new Set<number>());
  for (let k = 0; k < count; k++) seen[data.users[k]!]!.add(data.items[k]!);
  const pool = data.negativePool ?? Int32Array.from({ length: n }, (_, i) => i);
  if (pool.length === 0) throw new RangeError('the negative pool is empty');

  // The text part of the item vectors: a trainable W inside a fixed subspace, or a constant W·e.
  let basis: Float32Array | null = null;
  let reducedW0: Float32Array | null = null;
  let k = 0;
  const variables: tf.Variable[] = [];
  const textConstant = trainProjection ? null : tf.tensor2d(textPart(model, useText), [n, d]);
  let reducedEmbeddings: tf.Tensor2D | null = null;
  let wVar: tf.Variable | null = null;
  if (trainProjection) {
    k = Math.min(options.subspace ?? 128, D);
    basis = principalDirections(model.embeddings, n, D, k, options.seed ?? 42).basis; // k×D
    reducedEmbeddings = tf.tensor2d(multiplyTransposed(model.embeddings, n, D, basis, k), [n, k]);
    reducedW0 = multiplyTransposed(model.W, d, D, basis, k); // d×k: W's coordinates in the subspace
    wVar = tf.variable(tf.tensor2d(reducedW0, [d, k]), true, 'W');
    variables.push(wVar);
  }
  const qVar = tf.variable(tf.tensor2d(model.q, [n, d]), trainResiduals, 'q');
  const bVar = tf.variable(tf.tensor1d(model.b), trainBiases, 'b');
  const initialUsers = options.initialUsers ?? gaussianArray(data.userCount * d, 0.1, uniform);
  if (initialUsers.length !== data.userCount * d) throw new RangeError(`initialUsers needs ${data.userCount}×${d} values`);
  const uVar = tf.variable(tf.tensor2d(initialUsers, [data.userCount, d]), trainUsers, 'u');
  if (trainResiduals) variables.push(qVar);
  if (trainBiases) variables.push(bVar);
  if (trainUsers) variables.push(uVar);
  const optimizer = tf.train.adam(options.learningRate ?? 0.01);

  const order = Int32Array.from({ length: count }, (_, i) => i);
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      options.signal?.throwIfAborted();
      shuffleInPlace(order, uniform);
      let lossSum = 0;
      let weightSum = 0;
      for (let start = 0; start < count; start += batchSize) {
        const size = Math.min(batchSize, count - start);
        const us = new Int32Array(size);
        const ps = new Int32Array(size);
        const ns = new Int32Array(size);
        const ws = new Float32Array(size);
        for (let j = 0; j < size; j++) {
          const row = order[start + j]!;
          const user = data.users[row]!;
          us[j] = user;
          ps[j] = data.items[row]!;
          ws[j] = data.weights[row]!;
          ns[j] = sampleNegative(user, seen[user]!, data.explicitNegatives?.[user], explicitRate, pool, uniform);
        }
        const batchWeight = ws.reduce((a, b) => a + b, 0);
        const [uT, pT, nT, wT] = [tf.tensor1d(us, 'int32'), tf.tensor1d(ps, 'int32'), tf.tensor1d(ns, 'int32'), tf.tensor1d(ws)];
        const cost = optimizer.minimize(
          () => {
            // Items as rows [v_i, b_i] and users as [u, 1]: one gather per side (gathers dominate a step on wasm).
            const vectors = trainProjection
              ? tf.add(tf.matMul(reducedEmbeddings!, wVar!, false, true), qVar)
              : tf.add(textConstant!, qVar);
            const itemMatrix = tf.concat([vectors, tf.expandDims(bVar, 1)], 1);
            const gatheredUsers = gatherRows(uVar, uT);
            const u = tf.concat([gatheredUsers, tf.ones([size, 1])], 1);
            const vp = gatherRows(itemMatrix, pT);
            const vn = gatherRows(itemMatrix, nT);
            const margin = tf.sum(tf.mul(u, tf.sub(vp, vn)), 1);
            const pairLoss = tf.div(tf.sum(tf.mul(wT, tf.softplus(tf.neg(margin)))), batchWeight);
            // L2 on the rows the batch touched: u, and the item rows [v_i, b_i] (W·e + q, so it also tempers W).
            const rowNorms = tf.addN([tf.sum(tf.square(gatheredUsers)), tf.sum(tf.square(vp)), tf.sum(tf.square(vn))]);
            let regulariser = tf.mul(l2 / size, rowNorms);
            if (wVar) regulariser = tf.add(regulariser, tf.mul(l2, tf.sum(tf.square(wVar))));
            return tf.add(pairLoss, regulariser) as tf.Scalar;
          },
          true,
          variables,
        );
        const value = (await cost!.data())[0]!;
        cost!.dispose();
        uT.dispose();
        pT.dispose();
        nT.dispose();
        wT.dispose();
        lossSum += value * batchWeight;
        weightSum += batchWeight;
      }
      const loss = weightSum > 0 ? lossSum / weightSum : 0;
      losses.push(loss);
      await options.onEpoch?.({ epoch: epoch + 1, epochs: options.epochs, loss });
    }
    // Write back. W: add only the change made inside the subspace, so W's part outside it is kept exactly.
    if (trainProjection && wVar && basis && reducedW0) {
      const reducedW = (await wVar.data()) as Float32Array;
      const next = Float32Array.from(model.W);
      for (let f = 0; f < d; f++) {
        for (let c = 0; c < k; c++) {
          const change = reducedW[f * k + c]! - reducedW0[f * k + c]!;
          if (change === 0) continue;
          for (let t = 0; t < D; t++) next[f * D + t]! += change * basis[c * D + t]!;
        }
      }
      model.W = next;
    }
    if (trainResiduals) model.q = Float32Array.from((await qVar.data()) as Float32Array);
    if (trainBiases) model.b = Float32Array.from((await bVar.data()) as Float32Array);
    model.invalidate();
    return { userVectors: Float32Array.from((await uVar.data()) as Float32Array), losses };
  } finally {
    optimizer.dispose();
    for (const t of [qVar, bVar, uVar, wVar, textConstant, reducedEmbeddings]) t?.dispose();
  }
}

/** W·e for every item (itemCount×d), or zeros without text. */
function textPart(model: HybridModel, useText: boolean): Float32Array {
  const out = new Float32Array(model.itemCount * model.factors);
  if (!useText) return out;
  const vectors = model.itemVectors();
  for (let i = 0; i < out.length; i++) out[i] = vectors[i]! - model.q[i]!;
  return out;
}

function sampleNegative(
  user: number,
  seen: Set<number>,
  explicit: readonly number[] | undefined,
  explicitRate: number,
  pool: Int32Array,
  uniform: Uniform,
): number {
  if (explicit && explicit.length > 0 && uniform() < explicitRate) {
    return explicit[Math.floor(uniform() * explicit.length)]!;
  }
  // Rejection sampling: users see a small share of the catalog, so a few tries suffice.
  for (let attempt = 0; attempt < 50; attempt++) {
    const item = pool[Math.floor(uniform() * pool.length)]!;
    if (!seen.has(item)) return item;
  }
  void user;
  return pool[Math.floor(uniform() * pool.length)]!;
}

export interface HistoryEvent {
  kind: EventKind;
  item: number;
}

export interface FineTuneOptions {
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  /** Items shown and skipped: explicit negatives. */
  skipped?: readonly number[];
  /** Also fine-tune the local copy of q and b (default true). */
  updateItems?: boolean;
  onEpoch?: (progress: EpochProgress) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * The periodic fine-tune over one user's whole local history: W stays fixed (it is shared), u is
 * trained, and by default the local q and b too. Returns the new user vector (the input is untouched)
 * and the loss per epoch for the "Model" panel's chart.
 */
export async function fineTuneUser(
  model: HybridModel,
  user: Float32Array,
  history: readonly HistoryEvent[],
  options: FineTuneOptions = {},
): Promise<{ user: Float32Array; losses: number[] }> {
  const positives = history.filter((event) => event.kind !== 'dislike');
  const negatives = [
    ...history.filter((event) => event.kind === 'dislike').map((event) => event.item),
    ...(options.skipped ?? []),
  ];
  if (positives.length === 0) return { user: Float32Array.from(user), losses: [] };
  const updateItems = options.updateItems ?? true;
  const result = await trainBpr(
    model,
    {
      userCount: 1,
      users: new Int32Array(positives.length),
      items: Int32Array.from(positives, (event) => event.item),
      weights: Float32Array.from(positives, (event) => EVENT_WEIGHTS[event.kind]),
      explicitNegatives: [negatives],
    },
    {
      epochs: options.epochs ?? 30,
      batchSize: 256,
      learningRate: options.learningRate ?? 0.05,
      l2: options.l2 ?? 1e-3,
      seed: options.seed ?? 7,
      useText: true,
      trainProjection: false,
      trainResiduals: updateItems,
      trainBiases: updateItems,
      trainUsers: true,
      initialUsers: Float32Array.from(user),
      explicitNegativeRate: 0.5,
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  return { user: result.userVectors, losses: result.losses };
}
