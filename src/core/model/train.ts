/**
 * Mini-batch training with TensorFlow.js (tf.train optimizers, autodiff), the same code for a
 * publisher's global model over many users (cli/train-global.ts, the quality bench) and for the
 * periodic fine-tune over one user's local history in the worker (fine-tune-user.ts). Backend-agnostic:
 * it runs on whatever TF.js backend the caller made active (webgpu, webgl, wasm, cpu).
 *
 * This file is the loop both trainers share (set-up, epochs, checkpoints and resuming on another
 * backend, writing back); each objective is its own file: train-bpr.ts, train-softmax.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { gaussianSource, seededUniform, type Uniform } from '../random';
import { multiplyTransposed } from '../vector';
import type { HybridModel } from './hybrid';
import { principalDirections } from './pca';
import { bprObjective } from './train-bpr';
import { SOFTMAX_DEFAULTS, type HistoryEncoder, type SoftmaxTrainOptions, type TrainingData, type TrainOptions, type TrainResult } from './train-options';
import { disposeSession, openSession, readCheckpoint, type Checkpoint, type Objective, type SessionSpec } from './train-session';
import { softmaxItems, softmaxObjective } from './train-softmax';
import { multiplyRows } from './tf-ops';
import { encodeUser } from './user-encoder';

export * from './train-options';
export { encodeUser, userFromHistory } from './user-encoder';
export { plainMatMul, softmaxCrossEntropy } from './tf-ops';
export { itemFrequencyWeights } from './train-softmax';

/**
 * Trains the model in place (W, q, b as options allow) and returns the user vectors and the loss
 * curve. Deterministic for a seed on cpu and wasm; on WebGPU two runs differ by float32 rounding (its
 * reductions and scatters do not fix the order of a sum). Backends agree to float32 rounding carried
 * through the epochs: e2e/model-backends.spec.ts states and checks the tolerance.
 *
 * With `onBackendFailure`, a backend that fails mid-training (a lost WebGPU device, a kernel that
 * throws) does not lose the work done: the state is read back after every epoch (a checkpoint), and
 * after a failure training resumes on the backend the callback made active, from the last completed
 * epoch, replaying that epoch's batches (same shuffle, same negatives) with the optimizer's moments
 * restored. The result is then the uninterrupted run's, up to the backends' float rounding.
 */
export async function trainBpr(model: HybridModel, data: TrainingData, options: TrainOptions): Promise<TrainResult> {
  return train(model, data, options, 'bpr');
}

/**
 * Trains the same parameters as trainBpr (W in the embeddings' principal subspace, q, b, u) with the
 * multinomial likelihood of Mult-VAE (Liang et al., 2018) instead of sampled pairs: for each user,
 *   loss_u = −Σ_{i∈I_u} w_ui · log softmax_j(u·v_j + b_j)_i
 * where the softmax runs over every item that may receive a gradient (all items, or
 * `negativePool` ∪ the items in `data`: an item outside it is held out and never gets one; its q and b
 * are masked to zero in the step, so they keep their values exactly). A batch of users is scored
 * against every item with one dense matmul (batch×d · d×items): no gathers over items, so a step is
 * cheap on wasm and an epoch visits every interaction with exact, not sampled, negatives. Objective
 * per batch: the weighted mean of loss_u over the batch's interactions, plus
 * l2Users·(mean over the batch's users of ‖u‖²) + l2·(mean over trainable items of ‖q_i‖²) + l2Projection·‖W‖².
 * Same determinism, progress, abort and backend-failure behaviour as trainBpr.
 */
export async function trainSoftmax(model: HybridModel, data: TrainingData, options: SoftmaxTrainOptions = {}): Promise<TrainResult> {
  return train(model, data, { epochs: SOFTMAX_DEFAULTS.epochs, ...options }, 'softmax');
}

async function train(
  model: HybridModel,
  data: TrainingData,
  given: SoftmaxTrainOptions & TrainOptions,
  objectiveName: 'bpr' | 'softmax',
): Promise<TrainResult> {
  const softmax = objectiveName === 'softmax';
  const options = softmax ? { ...SOFTMAX_DEFAULTS, ...given } : given;
  const d = model.factors;
  const n = model.itemCount;
  const D = model.embeddingDim;
  const useText = options.useText ?? true;
  const trainProjection = useText && (options.trainProjection ?? true);
  const trainResiduals = options.trainResiduals ?? true;
  const trainBiases = options.trainBiases ?? true;
  // The asymmetric model's history encoder (u computed from the user's items), softmax only.
  const historyEncoder = softmax ? options.userFromHistory : undefined;
  const alpha = historyEncoder?.alpha ?? 0.5;
  const dropout = historyEncoder?.dropout ?? 0;
  const keptTargetWeight = historyEncoder?.keptTargetWeight ?? 1;
  const hidden = historyEncoder?.hidden ?? 0;
  if (hidden > 0 && !(useText && trainProjection)) throw new RangeError('userFromHistory.hidden needs the text and a trained projection');
  const yRows = hidden > 0 ? hidden : d;
  const trainUsers = (!historyEncoder || historyEncoder.free === true) && (options.trainUsers ?? true);
  const batchSize = options.batchSize ?? (softmax ? 128 : 1024);
  const l2 = options.l2 ?? 1e-4;
  const l2Projection = options.l2Projection ?? l2;
  const uniform = seededUniform(options.seed ?? 42);
  const count = data.users.length;
  if (data.items.length !== count || data.weights.length !== count) throw new RangeError('users, items and weights differ in length');

  if (!useText) model.W.fill(0);
  if (!useText && trainResiduals && model.q.every((x) => x === 0)) {
    model.q = gaussianArray(n * d, options.initScale ?? 0.1, uniform);
  }
  const pool = data.negativePool ?? Int32Array.from({ length: n }, (_, i) => i);
  if (pool.length === 0) throw new RangeError('the negative pool is empty');
  const items = softmax ? softmaxItems(data, n, pool, options.l2FrequencyPower ?? 0, data.negativePool !== undefined) : undefined;

  // The text part of the item vectors: a trainable W inside a fixed subspace, or a constant W·e.
  // Kept as typed arrays, so the tensors can be rebuilt on another backend after a failure.
  let basis: Float32Array | null = null;
  let reducedW0: Float32Array | null = null;
  let reducedEmbeddings: Float32Array | null = null;
  let k = 0;
  const textConstant = trainProjection ? null : textPart(model, useText);
  if (trainProjection) {
    k = Math.min(options.subspace ?? 128, D);
    basis = principalDirections(model.embeddings, n, D, k, options.seed ?? 42).basis; // k×D
    reducedEmbeddings = multiplyTransposed(model.embeddings, n, D, basis, k);
    reducedW0 = multiplyTransposed(model.W, d, D, basis, k); // d×k: W's coordinates in the subspace
  }
  const initialUsers = options.initialUsers ?? gaussianArray(data.userCount * d, 0.1, uniform);
  if (initialUsers.length !== data.userCount * d) throw new RangeError(`initialUsers needs ${data.userCount}×${d} values`);
  if (historyEncoder && !(dropout >= 0 && dropout < 1)) throw new RangeError('userFromHistory.dropout must be in [0, 1)');
  if (historyEncoder && !(keptTargetWeight >= 0 && keptTargetWeight <= 1)) throw new RangeError('userFromHistory.keptTargetWeight must be in [0, 1]');
  if (historyEncoder && keptTargetWeight === 0 && dropout === 0)
    throw new RangeError('userFromHistory.keptTargetWeight 0 needs a dropout: every item would stay in the input, none be a target');
  const spec: SessionSpec = {
    shapes: { W: [d, k], q: [n, d], b: [n], u: [data.userCount, d], yW: [yRows, k], p: [n, yRows], M: [d, hidden], c: [hidden, 1] },
    trainable: { W: trainProjection, q: trainResiduals, b: trainBiases, u: trainUsers },
    historyEncoder: historyEncoder !== undefined,
    hidden,
    n,
    d,
    k,
    itemsAsColumns: softmax,
    textConstant,
    reducedEmbeddings,
    itemMask: items?.itemMask ?? null,
    frequencyWeights: items?.frequencyWeights ?? null,
    learningRate: options.learningRate ?? 0.01,
  };
  const objective: Objective<unknown> = items
    ? softmaxObjective({
        n,
        batchSize,
        uniform,
        items,
        l2,
        l2Users: options.l2Users ?? l2,
        l2Projection,
        l2History: historyEncoder?.l2 ?? l2,
        trainUsers,
        historyEncoder: historyEncoder && { alpha, dropout, keptTargetWeight },
      })
    : bprObjective({ data, batchSize, uniform, l2, explicitRate: options.explicitNegativeRate ?? 0.5, pool });

  // The hidden layer starts near the linear encoder: W' = [W; small noise] and M = [I 0], so at first
  // u = tanh(mean of W·e_j) on the first d units and the other units only feed M's zero columns.
  const hiddenStart = (w0: Float32Array): Float32Array => {
    const out = gaussianArray(hidden * k, 0.01, uniform);
    out.set(w0.subarray(0, Math.min(hidden, d) * k));
    return out;
  };
  const identityStart = (): Float32Array => {
    const out = new Float32Array(d * hidden);
    for (let f = 0; f < Math.min(d, hidden); f++) out[f * hidden + f] = 1;
    return out;
  };
  const recover = options.onBackendFailure;
  let checkpoint: Checkpoint = {
    epochs: 0,
    W: reducedW0,
    q: model.q,
    b: model.b,
    u: initialUsers,
    yW: historyEncoder && reducedW0 ? (hidden > 0 ? hiddenStart(reducedW0) : reducedW0) : null,
    p: historyEncoder ? new Float32Array(n * yRows) : null,
    M: hidden > 0 ? identityStart() : null,
    c: hidden > 0 ? new Float32Array(hidden) : null,
    optimizer: [],
  };
  let session = await openSession(spec, checkpoint);
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      options.signal?.throwIfAborted();
      const batches = objective.plan();
      let loss: number;
      for (;;) {
        try {
          if (options.schedule === 'cosine')
            (session.optimizer as unknown as { learningRate: number }).learningRate =
              (spec.learningRate * (1 + Math.cos((Math.PI * epoch) / options.epochs))) / 2;
          loss = await objective.run(session, batches);
          if (recover) checkpoint = await readCheckpoint(session, epoch + 1);
          break;
        } catch (error) {
          if (!recover || options.signal?.aborted) throw error;
          const failed = tf.getBackend();
          disposeSession(session);
          await recover({ backend: failed, error, epoch: epoch + 1, completedEpochs: checkpoint.epochs, losses: [...losses] });
          if (tf.getBackend() === failed) throw error; // nowhere else to go
          session = await openSession(spec, checkpoint);
        }
      }
      losses.push(loss);
      await options.onEpoch?.({ epoch: epoch + 1, epochs: options.epochs, loss });
    }
    const final = recover ? checkpoint : await readCheckpoint(session, options.epochs);
    // Write back. W: add only the change made inside the subspace, so W's part outside it is kept exactly.
    const fullProjection = (reducedW: Float32Array): Float32Array => {
      const next = Float32Array.from(model.W);
      for (let f = 0; f < d; f++) {
        for (let c = 0; c < k; c++) {
          const change = reducedW[f * k + c]! - reducedW0![f * k + c]!;
          if (change === 0) continue;
          for (let t = 0; t < D; t++) next[f * D + t]! += change * basis![c * D + t]!;
        }
      }
      return next;
    };
    // The history encoder first: W' starts from the W the model had before this run.
    let trained: HistoryEncoder | undefined;
    let userVectors = Float32Array.from(final.u);
    if (historyEncoder) {
      // With a hidden layer W' is only its subspace part (yW·basis); otherwise it started from W.
      const W =
        hidden > 0
          ? multiplyRows(final.yW!, hidden, k, basis!, D)
          : final.yW && basis && reducedW0
            ? fullProjection(final.yW)
            : useText
              ? Float32Array.from(model.W)
              : new Float32Array(d * D);
      const p = Float32Array.from(final.p!);
      const vectors = Float32Array.from(p);
      if (useText) {
        for (let i = 0; i < n; i++) {
          for (let f = 0; f < yRows; f++) {
            let sum = 0;
            for (let t = 0; t < D; t++) sum += W[f * D + t]! * model.embeddings[i * D + t]!;
            vectors[i * yRows + f]! += sum;
          }
        }
      }
      trained = { W, p, vectors, alpha };
      if (hidden > 0) trained.hidden = { size: hidden, M: Float32Array.from(final.M!), c: Float32Array.from(final.c!) };
      if (trainUsers) trained.free = Float32Array.from(final.u);
      const encoded = trained;
      const free = userVectors;
      userVectors = new Float32Array(data.userCount * d);
      items!.positives.forEach(({ items: history, inputs }, user) => userVectors.set(encodeUser(encoded, d, history, inputs), user * d));
      if (trainUsers) for (let i = 0; i < userVectors.length; i++) userVectors[i]! += free[i]!;
    }
    if (trainProjection && final.W && basis && reducedW0) model.W = fullProjection(final.W);
    if (trainResiduals) model.q = Float32Array.from(final.q);
    if (trainBiases) model.b = Float32Array.from(final.b);
    model.invalidate();
    return trained ? { userVectors, losses, historyEncoder: trained } : { userVectors, losses };
  } finally {
    disposeSession(session);
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

function gaussianArray(length: number, scale: number, uniform: Uniform): Float32Array {
  const normal = gaussianSource(uniform);
  return Float32Array.from({ length }, () => normal() * scale);
}
