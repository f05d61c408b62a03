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
  /**
   * The asymmetric model (`userFromHistory`) only: each interaction's weight in the user's encoded
   * input, e.g. decayed with its age so recent events count more (default: `weights`). The targets
   * keep `weights`.
   */
  inputWeights?: Float32Array;
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
  /**
   * Called when a TF.js operation fails mid-training (a lost WebGPU device, a kernel that throws). It
   * should make another backend active (tf.setBackend) and resolve; training then resumes there from
   * the last completed epoch without losing it (see trainBpr). Reject, or leave the failed backend
   * active, to stop with the error. Costs a read-back of the state after every epoch; without it a
   * failure ends training and leaves the model untouched.
   */
  onBackendFailure?: (failure: BackendFailure) => Promise<void>;
}

/**
 * Options of trainSoftmax. `batchSize` counts users (each batch scores its users against every item);
 * `explicitNegativeRate` and `TrainingData.explicitNegatives` do not apply: every item the user did not
 * interact with is a negative, weighted by its predicted probability.
 */
export interface SoftmaxTrainOptions extends Omit<TrainOptions, 'explicitNegativeRate' | 'epochs'> {
  /** Default: SOFTMAX_DEFAULTS.epochs (every option left out takes SOFTMAX_DEFAULTS' value, if it has one). */
  epochs?: number;
  /** L2 on W (SOFTMAX_DEFAULTS: 1e-4). */
  l2Projection?: number;
  /**
   * The learning rate over the epochs: 'constant' (default), or 'cosine': epoch e (0-based) of E runs at
   * learningRate · (1 + cos(π·e/E)) / 2, from the full rate down toward 0.
   */
  schedule?: 'constant' | 'cosine';
  /** L2 on the user vectors (default: `l2`); `l2` then applies to q. */
  l2Users?: number;
  /**
   * Frequency-scaled L2 on the item rows q_i (and p_i): item i's penalty is multiplied by
   * f_i = (c_i + 1)^β / mean_j (c_j + 1)^β, c_i its training interactions, so the mean weight stays 1
   * and `l2` keeps its scale. β > 0 pulls popular items' rows harder (what per-occurrence SGD
   * regularisation does), β < 0 rare ones' (they lean on their text). Default 0: uniform.
   */
  l2FrequencyPower?: number;
  /**
   * The asymmetric model: no free user vectors; a user's vector is computed from their history,
   *   u = (Σ_{j∈I_u} w_uj)^−α · Σ_{j∈I_u} w_uj · y_j,   y_j = W'·e_j + p_j
   * with a second projection W' (trained in the same subspace as W, starting from W) and a second
   * residual table p (starting at 0). On a device u then follows from the history after every event
   * (`userFromHistory`). The result's `history` holds W', p and the y_j.
   */
  userFromHistory?: HistoryEncoderOptions;
}

export interface HistoryEncoderOptions {
  /** α of the normalisation (Σ w)^−α: 0.5 as Mult-DAE's L2-normalised input, 1 a mean. Default 0.5. */
  alpha?: number;
  /**
   * Chance that a history item is left out of a training step's input (it stays in the step's
   * targets), drawn per user and step, as Mult-DAE's input dropout: the model must predict items
   * from the others rather than copy its input. Default 0.
   */
  dropout?: number;
  /**
   * The target weight, relative to the others, of the history items a step kept in its input (κ):
   * 1 (the default) trains every history item as a target, as Mult-DAE; 0 only the dropped ones, so
   * the model is asked only what a ranking asks, items it was not shown, never to copy its input.
   */
  keptTargetWeight?: number;
  /** L2 on p (default: the options' `l2`, as on q). */
  l2?: number;
  /**
   * Also a free user vector, added to the encoded one (SVD++-style: u = u_free + (Σ w)^−α Σ w·y_j);
   * u_free is trained as without the encoder. Default false.
   */
  free?: boolean;
  /**
   * A hidden layer of this many tanh units (Mult-DAE's non-linearity): y_j then has `hidden`
   * components and u = M·tanh((Σ w)^−α Σ w·y_j + c), M d×hidden, c a bias; W' (hidden×k in the
   * subspace) starts as [W; small seeded Gaussian rows] and M as [I 0], near the linear encoder; p and c at 0. Needs the text and a
   * trained projection. Default 0: the linear encoder.
   */
  hidden?: number;
}

/** The trained history encoder of the asymmetric model (trainSoftmax with `userFromHistory`). */
export interface HistoryEncoder {
  /** W', d×D row-major. */
  W: Float32Array;
  /** p, itemCount×d. */
  p: Float32Array;
  /** y_j = W'·e_j + p_j, itemCount×d. */
  vectors: Float32Array;
  alpha: number;
  /** With `free`: the free user vectors (userCount×d), the part of `userVectors` not from the history. */
  free?: Float32Array;
  /** With `hidden`: W' is hidden×D, p and the y_j itemCount×hidden, and u = M·tanh(mean-ish of y + c). */
  hidden?: { size: number; M: Float32Array; c: Float32Array };
}

/**
 * trainSoftmax's defaults (options given override them): the settings chosen with the quality bench's
 * --validate mode on MovieLens-100K (validation splits carved from the training data, never the test
 * users; docs/benchmarks.md records the figures). Another catalog may want its own; they are a start.
 */
export const SOFTMAX_DEFAULTS = {
  epochs: 30,
  batchSize: 128,
  learningRate: 0.03,
  /** 0.05 won on the temporal and leave-one-out splits, 0.15 on the Recommenders random split. */
  l2: 0.05,
  l2Projection: 1e-4,
  /**
   * No free per-item bias: popularity then has to come through u·(W·e_i + q_i), so W learns to read
   * it from the text and a new item (q = 0, b = 0) gets a popularity prior; with b free, b takes
   * popularity and new items lose it (validation: cold HR@10 0.88 without b, 0.66 with).
   */
  trainBiases: false,
} as const satisfies SoftmaxTrainOptions;

export interface TrainResult {
  /** userCount×d, row-major. */
  userVectors: Float32Array;
  losses: number[];
  /**
   * With `userFromHistory`: the encoder; `userVectors` are then computed from each user's training
   * history (plus the free part, with `free`, which is `history.free`).
   */
  history?: HistoryEncoder;
}

/**
 * u = (Σ w_j)^−α · Σ w_j · y_j over a history (items and their weights; repeated items count each
 * time), with y = `vectors` (itemCount×d): the asymmetric model's user vector. Zero for no history.
 */
export function userFromHistory(vectors: Float32Array, d: number, items: ArrayLike<number>, weights: ArrayLike<number>, alpha: number): Float32Array {
  const u = new Float32Array(d);
  let total = 0;
  for (let j = 0; j < items.length; j++) {
    const w = weights[j]!;
    if (!(w > 0)) continue;
    total += w;
    const row = items[j]! * d;
    for (let f = 0; f < d; f++) u[f]! += w * vectors[row + f]!;
  }
  if (total > 0) {
    const scale = Math.pow(total, -alpha);
    for (let f = 0; f < d; f++) u[f]! *= scale;
  }
  return u;
}

/**
 * The asymmetric model's user vector for a history (items and their weights) with a trained encoder:
 * userFromHistory over its y table, through the hidden layer when it has one (u = M·tanh(h + c)).
 */
export function encodeUser(encoder: HistoryEncoder, d: number, items: ArrayLike<number>, weights: ArrayLike<number>): Float32Array {
  if (!encoder.hidden) return userFromHistory(encoder.vectors, d, items, weights, encoder.alpha);
  const { size: H, M, c } = encoder.hidden;
  const h = userFromHistory(encoder.vectors, H, items, weights, encoder.alpha);
  for (let j = 0; j < H; j++) h[j] = Math.tanh(h[j]! + c[j]!);
  const u = new Float32Array(d);
  for (let f = 0; f < d; f++) {
    let sum = 0;
    for (let j = 0; j < H; j++) sum += M[f * H + j]! * h[j]!;
    u[f] = sum;
  }
  return u;
}

/** The value of a scalar tensor, which is disposed of (also when the read fails, as on a lost device). */
async function readAndDispose(scalar: tf.Scalar): Promise<number> {
  try {
    return (await scalar.data())[0]!;
  } finally {
    scalar.dispose();
  }
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

/**
 * a·b whose gradients are untransposed matmuls too (dA = dy·transpose(b), dB = transpose(a)·dy): TF.js's
 * own gradient uses transposed matmuls, ~10× slower on tfjs-backend-wasm (measured: 170 vs 17 ms for
 * 943×64·64×1682); the explicit transposes are of the small operands.
 */
export function plainMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const product = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x, y]); // customGrad frees what a gradient needs unless it is saved
    return {
      value: tf.matMul(x, y),
      gradFunc: (dy: tf.Tensor, [a, b]: tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, tf.transpose(b!)), tf.matMul(tf.transpose(a!), dy as tf.Tensor2D)],
    };
  });
  return product(a, b) as tf.Tensor2D;
}

/**
 * −Σ targets ⊙ log softmax(logits) (rows: users), with the gradient softmax·rowsum(targets) − targets
 * written out. One softmax kernel serves the value and the gradient: a row's log-normaliser is
 * max(x) − log(max(softmax(x))) (the largest probability is ≥ 1/items, so its log is exact enough),
 * which avoids an elementwise exp and log over batch×items (slow, unvectorised kernels on wasm).
 */
export function softmaxCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const loss = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = inputs as [tf.Tensor2D, tf.GradSaveFunc];
    const rowWeights = tf.sum(targets, 1, true);
    const probabilities = tf.softmax(x);
    const logNormaliser = tf.sub(tf.max(x, 1, true), tf.log(tf.max(probabilities, 1, true)));
    save([probabilities, rowWeights]);
    return {
      value: tf.sub(tf.sum(tf.mul(rowWeights, logNormaliser)), tf.sum(tf.mul(targets, x))),
      gradFunc: (dy: tf.Tensor, [p, weights]: tf.Tensor[]) => tf.mul(dy, tf.sub(tf.mul(p!, weights!), targets)),
    };
  });
  return loss(logits) as tf.Scalar;
}

/** A constant tensor of a row-major rows×columns array, transposed when asked. */
function constant(values: Float32Array, shape: [number, number], transpose: boolean): tf.Tensor2D {
  if (!transpose) return tf.tensor2d(values, shape);
  return tf.tidy(() => tf.transpose(tf.tensor2d(values, shape)));
}

function gaussianArray(length: number, scale: number, uniform: Uniform): Float32Array {
  const normal = gaussianSource(uniform);
  return Float32Array.from({ length }, () => normal() * scale);
}

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

async function train(model: HybridModel, data: TrainingData, given: SoftmaxTrainOptions & TrainOptions, objective: 'bpr' | 'softmax'): Promise<TrainResult> {
  const options = objective === 'softmax' ? { ...SOFTMAX_DEFAULTS, ...given } : given;
  const d = model.factors;
  const n = model.itemCount;
  const D = model.embeddingDim;
  const useText = options.useText ?? true;
  const trainProjection = useText && (options.trainProjection ?? true);
  const trainResiduals = options.trainResiduals ?? true;
  const trainBiases = options.trainBiases ?? true;
  const encoder = objective === 'softmax' ? options.userFromHistory : undefined;
  const alpha = encoder?.alpha ?? 0.5;
  const dropout = encoder?.dropout ?? 0;
  const keptTargetWeight = encoder?.keptTargetWeight ?? 1;
  const hidden = encoder?.hidden ?? 0;
  if (hidden > 0 && !(useText && trainProjection)) throw new RangeError('userFromHistory.hidden needs the text and a trained projection');
  const yRows = hidden > 0 ? hidden : d;
  const trainUsers = (!encoder || encoder.free === true) && (options.trainUsers ?? true);
  const batchSize = options.batchSize ?? (objective === 'bpr' ? 1024 : 128);
  const l2 = options.l2 ?? 1e-4;
  const l2Projection = options.l2Projection ?? l2;
  const l2Users = options.l2Users ?? l2;
  const l2History = encoder?.l2 ?? l2;
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
  // Softmax: each user's positives (duplicates summed) and the items the normaliser runs over.
  const positives = objective === 'softmax' ? positivesByUser(data) : [];
  let itemMask: Float32Array | null = null;
  if (objective === 'softmax' && data.negativePool) {
    const allowed = new Float32Array(n);
    for (const item of pool) allowed[item] = 1;
    for (const item of data.items) allowed[item] = 1;
    if (allowed.some((x) => x === 0)) itemMask = allowed;
  }
  const allowedCount = itemMask ? itemMask.reduce((a, x) => a + x, 0) : n;
  const frequencyWeights = objective === 'softmax' ? itemFrequencyWeights(data, n, options.l2FrequencyPower ?? 0, itemMask) : null;

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
  const shapes = { W: [d, k], q: [n, d], b: [n], u: [data.userCount, d], yW: [yRows, k], p: [n, yRows], M: [d, hidden], c: [hidden, 1] };
  if (encoder && !(dropout >= 0 && dropout < 1)) throw new RangeError('userFromHistory.dropout must be in [0, 1)');
  if (encoder && !(keptTargetWeight >= 0 && keptTargetWeight <= 1)) throw new RangeError('userFromHistory.keptTargetWeight must be in [0, 1]');
  if (encoder && keptTargetWeight === 0 && dropout === 0) throw new RangeError('userFromHistory.keptTargetWeight 0 needs a dropout: every item would stay in the input, none be a target');
  const trainable = { W: trainProjection, q: trainResiduals, b: trainBiases, u: trainUsers };
  const learningRate = options.learningRate ?? 0.01;

  /** The trainable state on the active backend: variables, constants and the optimizer. */
  const open = async (from: Checkpoint): Promise<Session> => {
    const session: Session = {
      variables: [],
      wVar: null,
      yWVar: null,
      pVar: null,
      mVar: null,
      cVar: null,
      qVar: variableFrom(from.q, shapes.q, trainResiduals),
      bVar: variableFrom(from.b, shapes.b, trainBiases),
      uVar: variableFrom(from.u, shapes.u, trainUsers),
      textConstant: textConstant ? constant(textConstant, [n, d], objective === 'softmax') : null,
      reducedEmbeddings: reducedEmbeddings ? constant(reducedEmbeddings, [n, k], objective === 'softmax') : null,
      itemMask: itemMask ? tf.tensor1d(itemMask) : null,
      // −1e9 on held-out items' logits: exp underflows to 0, so their softmax probability and gradient are exactly 0.
      logitMask: itemMask ? tf.tensor2d(itemMask.map((x) => (x === 0 ? -1e9 : 0)), [1, n]) : null,
      frequencyWeights: frequencyWeights ? tf.tensor2d(frequencyWeights, [n, 1]) : null,
      optimizer: tf.train.adam(learningRate),
    };
    if (trainProjection) session.wVar = variableFrom(from.W!, shapes.W, true);
    if (encoder) {
      if (trainProjection) session.yWVar = variableFrom(from.yW!, shapes.yW, true);
      session.pVar = variableFrom(from.p!, shapes.p, true);
      if (hidden > 0) {
        session.mVar = variableFrom(from.M!, shapes.M, true);
        session.cVar = variableFrom(from.c!, shapes.c, true);
      }
    }
    // The optimizer's moments follow this order (it matches them to variables by position).
    if (session.wVar) session.variables.push(session.wVar);
    if (session.yWVar) session.variables.push(session.yWVar);
    if (session.pVar) session.variables.push(session.pVar);
    if (session.mVar) session.variables.push(session.mVar);
    if (session.cVar) session.variables.push(session.cVar);
    if (trainable.q) session.variables.push(session.qVar);
    if (trainable.b) session.variables.push(session.bVar);
    if (trainable.u) session.variables.push(session.uVar);
    if (from.optimizer.length > 0) {
      const restored = from.optimizer.map(({ name, shape, dtype, values }) => ({ name, tensor: tf.tensor(values, shape, dtype) }));
      await session.optimizer.setWeights(restored);
      for (const { tensor } of restored) tensor.dispose(); // the optimizer's variables hold their own reference
    }
    return session;
  };

  /** Reads the state back from the backend (after `epochs` completed epochs). */
  const read = async (session: Session, epochs: number): Promise<Checkpoint> => {
    const weights = await session.optimizer.getWeights();
    const optimizer: Checkpoint['optimizer'] = [];
    for (const [i, { name, tensor }] of weights.entries()) {
      optimizer.push({ name, shape: [...tensor.shape], dtype: tensor.dtype as 'float32' | 'int32', values: (await tensor.data()) as Float32Array | Int32Array });
      if (i === 0) tensor.dispose(); // the iteration count: a new scalar on every call
    }
    return {
      epochs,
      W: session.wVar ? Float32Array.from((await session.wVar.data()) as Float32Array) : null,
      q: Float32Array.from((await session.qVar.data()) as Float32Array),
      b: Float32Array.from((await session.bVar.data()) as Float32Array),
      u: Float32Array.from((await session.uVar.data()) as Float32Array),
      yW: session.yWVar ? Float32Array.from((await session.yWVar.data()) as Float32Array) : null,
      p: session.pVar ? Float32Array.from((await session.pVar.data()) as Float32Array) : null,
      M: session.mVar ? Float32Array.from((await session.mVar.data()) as Float32Array) : null,
      c: session.cVar ? Float32Array.from((await session.cVar.data()) as Float32Array) : null,
      optimizer,
    };
  };

  /** One epoch's batches, sampled up front (shuffle, then negatives batch by batch), so a failed epoch can be replayed exactly. */
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const planEpoch = (): Batch[] | UserBatch[] => (objective === 'bpr' ? planPairs() : planUsers());
  const activeUsers = Int32Array.from(positives.flatMap((p, user) => (p.items.length > 0 ? [user] : [])));
  /** Softmax: the users in a seeded random order, cut into batches (each with a seed for its input dropout). */
  const planUsers = (): UserBatch[] => {
    shuffleInPlace(activeUsers, uniform);
    const batches: UserBatch[] = [];
    for (let start = 0; start < activeUsers.length; start += batchSize) {
      batches.push({ users: activeUsers.slice(start, start + batchSize), seed: encoder && dropout > 0 ? Math.floor(uniform() * 2 ** 31) : 0 });
    }
    return batches;
  };
  /**
   * The asymmetric model's input for a batch: X transposed (items×users), (Σ kept w)^−α · w_uj, some
   * items dropped; and which of each user's history items were kept (1) or dropped (0), for the targets.
   */
  const historyInputs = (batch: UserBatch): { inputs: Float32Array; kept: Uint8Array[] } => {
    const size = batch.users.length;
    const out = new Float32Array(n * size);
    const draw = dropout > 0 ? seededUniform(batch.seed) : null;
    const kept = Array.from(batch.users, (user, row) => {
      const { items, inputs: weights } = positives[user]!;
      const keptHere = new Uint8Array(items.length);
      let total = 0;
      for (let j = 0; j < items.length; j++) {
        if (draw && draw() < dropout) continue;
        keptHere[j] = 1;
        total += weights[j]!;
      }
      if (total === 0) return keptHere;
      const scale = Math.pow(total, -alpha);
      for (let j = 0; j < items.length; j++) if (keptHere[j]) out[items[j]! * size + row] = weights[j]! * scale;
      return keptHere;
    });
    return { inputs: out, kept };
  };
  const planPairs = (): Batch[] => {
    shuffleInPlace(order, uniform);
    const batches: Batch[] = [];
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start);
      const batch: Batch = { users: new Int32Array(size), positives: new Int32Array(size), negatives: new Int32Array(size), weights: new Float32Array(size), weight: 0 };
      for (let j = 0; j < size; j++) {
        const row = order[start + j]!;
        const user = data.users[row]!;
        batch.users[j] = user;
        batch.positives[j] = data.items[row]!;
        batch.weights[j] = data.weights[row]!;
        batch.negatives[j] = sampleNegative(user, seen[user]!, data.explicitNegatives?.[user], explicitRate, pool, uniform);
      }
      batch.weight = batch.weights.reduce((a, b) => a + b, 0);
      batches.push(batch);
    }
    return batches;
  };

  const runEpoch = (session: Session, batches: readonly Batch[] | readonly UserBatch[]): Promise<number> =>
    objective === 'bpr' ? runPairs(session, batches as Batch[]) : runUsers(session, batches as UserBatch[]);

  const runUsers = async (session: Session, batches: readonly UserBatch[]): Promise<number> => {
    const { wVar, yWVar, pVar, mVar, cVar, qVar, bVar, uVar, textConstant: text, reducedEmbeddings: reduced, optimizer, variables, itemMask: mask, logitMask, frequencyWeights: itemWeights } = session;
    /** Σ_i f_i ‖row_i‖² (Σ ‖row_i‖² when the L2 is uniform). */
    const rowPenalty = (rows: tf.Tensor): tf.Tensor => tf.sum(itemWeights ? tf.mul(tf.square(rows), itemWeights) : tf.square(rows));
    let lossSum = 0;
    let weightSum = 0;
    for (const batch of batches) {
      const users = batch.users;
      const size = users.length;
      const history = encoder ? historyInputs(batch) : null;
      const targets = new Float32Array(size * n);
      let batchWeight = 0;
      users.forEach((user, row) => {
        const { items, weights } = positives[user]!;
        const kept = history?.kept[row];
        for (let j = 0; j < items.length; j++) {
          const weight = kept?.[j] ? weights[j]! * keptTargetWeight : weights[j]!;
          targets[row * n + items[j]!] = weight;
          batchWeight += weight;
        }
      });
      if (batchWeight === 0) continue; // every target kept in the input with κ = 0: nothing to learn
      const usersT = tf.tensor1d(users, 'int32');
      const targetsT = tf.tensor2d(targets, [size, n]);
      const inputsT = history ? tf.tensor2d(history.inputs, [n, size]) : null;
      try {
        const cost = tf.tidy(() => optimizer.minimize(
          () => {
            // Items as columns (d×n): every matmul of the step, forward and backward, is untransposed
            // (plainMatMul), which tfjs-backend-wasm runs ~10× faster than a transposed one.
            // Held-out items: q and b masked to 0, so they get no gradient (and keep their values).
            const q = mask ? tf.mul(qVar, tf.expandDims(mask, 1)) : qVar;
            const b = mask ? tf.mul(bVar, mask) : bVar;
            const vectors = tf.add(wVar ? plainMatMul(wVar, reduced!) : text!, tf.transpose(q));
            let u: tf.Tensor;
            let encoderPenalty: tf.Tensor | null = null;
            if (pVar && inputsT) {
              // u = X·Y as (Yᵀ·Xᵀ)ᵀ: Yᵀ = W'·Eᵀ + pᵀ (d×n), Xᵀ the batch's inputs (n×size).
              const p = mask ? tf.mul(pVar, tf.expandDims(mask, 1)) : pVar;
              const yT = tf.add(yWVar ? plainMatMul(yWVar, reduced!) : text!, tf.transpose(p));
              if (mVar && cVar) {
                // The hidden layer: h = tanh(Yᵀ·Xᵀ + c) (hidden×size), uᵀ = M·h (d×size).
                const h = tf.tanh(tf.add(plainMatMul(yT, inputsT), cVar));
                u = tf.transpose(plainMatMul(mVar, h));
              } else u = tf.transpose(plainMatMul(yT, inputsT));
              if (trainUsers) u = tf.add(u, gatherRows(uVar, usersT));
              encoderPenalty = tf.mul(l2History / allowedCount, rowPenalty(p));
              if (yWVar) encoderPenalty = tf.add(encoderPenalty, tf.mul(l2Projection, tf.sum(tf.square(yWVar))));
              if (mVar) encoderPenalty = tf.add(encoderPenalty, tf.mul(l2Projection, tf.sum(tf.square(mVar))));
            } else u = gatherRows(uVar, usersT);
            // Biases (and the held-out items' −1e9) as one more row of the items, so they need no batch×n add.
            const biasRow = logitMask ? tf.add(tf.expandDims(b, 0), logitMask) : tf.expandDims(b, 0);
            const logits = plainMatMul(tf.concat([u, tf.ones([size, 1])], 1), tf.concat([vectors, biasRow], 0));
            const nll = tf.div(softmaxCrossEntropy(logits, targetsT), batchWeight);
            let regulariser = tf.add(tf.mul(l2Users / size, tf.sum(tf.square(u))), tf.mul(l2 / allowedCount, rowPenalty(q)));
            if (wVar) regulariser = tf.add(regulariser, tf.mul(l2Projection, tf.sum(tf.square(wVar))));
            if (encoderPenalty) regulariser = tf.add(regulariser, encoderPenalty);
            return tf.add(nll, regulariser) as tf.Scalar;
          },
          true,
          variables,
        )!);
        lossSum += (await readAndDispose(cost)) * batchWeight;
        weightSum += batchWeight;
      } finally {
        usersT.dispose();
        targetsT.dispose();
        inputsT?.dispose();
      }
    }
    return weightSum > 0 ? lossSum / weightSum : 0;
  };

  const runPairs = async (session: Session, batches: readonly Batch[]): Promise<number> => {
    const { wVar, qVar, bVar, uVar, textConstant: text, reducedEmbeddings: reduced, optimizer, variables } = session;
    let lossSum = 0;
    let weightSum = 0;
    for (const batch of batches) {
      const size = batch.users.length;
      const batchWeight = batch.weight;
      const [uT, pT, nT, wT] = [tf.tensor1d(batch.users, 'int32'), tf.tensor1d(batch.positives, 'int32'), tf.tensor1d(batch.negatives, 'int32'), tf.tensor1d(batch.weights)];
      try {
        // In a tidy: a step that throws half-way (a lost device) leaves nothing behind.
        const cost = tf.tidy(() => optimizer.minimize(
          () => {
            // Items as rows [v_i, b_i] and users as [u, 1]: one gather per side (gathers dominate a step on wasm).
            const vectors = wVar ? tf.add(tf.matMul(reduced!, wVar, false, true), qVar) : tf.add(text!, qVar);
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
        )!);
        lossSum += (await readAndDispose(cost)) * batchWeight;
        weightSum += batchWeight;
      } finally {
        for (const t of [uT, pT, nT, wT]) t.dispose();
      }
    }
    return weightSum > 0 ? lossSum / weightSum : 0;
  };

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
    yW: encoder && reducedW0 ? (hidden > 0 ? hiddenStart(reducedW0) : reducedW0) : null,
    p: encoder ? new Float32Array(n * yRows) : null,
    M: hidden > 0 ? identityStart() : null,
    c: hidden > 0 ? new Float32Array(hidden) : null,
    optimizer: [],
  };
  let session = await open(checkpoint);
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      options.signal?.throwIfAborted();
      const batches = planEpoch();
      let loss: number;
      for (;;) {
        try {
          if (options.schedule === 'cosine') (session.optimizer as unknown as { learningRate: number }).learningRate = (learningRate * (1 + Math.cos((Math.PI * epoch) / options.epochs))) / 2;
          loss = await runEpoch(session, batches);
          if (recover) checkpoint = await read(session, epoch + 1);
          break;
        } catch (error) {
          if (!recover || options.signal?.aborted) throw error;
          const failed = tf.getBackend();
          disposeSession(session);
          await recover({ backend: failed, error, epoch: epoch + 1, completedEpochs: checkpoint.epochs, losses: [...losses] });
          if (tf.getBackend() === failed) throw error; // nowhere else to go
          session = await open(checkpoint);
        }
      }
      losses.push(loss);
      await options.onEpoch?.({ epoch: epoch + 1, epochs: options.epochs, loss });
    }
    const final = recover ? checkpoint : await read(session, options.epochs);
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
    // The encoder first: W' starts from the W the model had before this run.
    let history: HistoryEncoder | undefined;
    let userVectors = Float32Array.from(final.u);
    if (encoder) {
      // With a hidden layer W' is only its subspace part (yW·basis); otherwise it started from W.
      const W =
        hidden > 0 ? multiplyRows(final.yW!, hidden, k, basis!, D) : final.yW && basis && reducedW0 ? fullProjection(final.yW) : useText ? Float32Array.from(model.W) : new Float32Array(d * D);
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
      history = { W, p, vectors, alpha };
      if (hidden > 0) history.hidden = { size: hidden, M: Float32Array.from(final.M!), c: Float32Array.from(final.c!) };
      if (trainUsers) history.free = Float32Array.from(final.u);
      const encoded = history;
      const free = userVectors;
      userVectors = new Float32Array(data.userCount * d);
      positives.forEach(({ items, inputs }, user) => userVectors.set(encodeUser(encoded, d, items, inputs), user * d));
      if (trainUsers) for (let i = 0; i < userVectors.length; i++) userVectors[i]! += free[i]!;
    }
    if (trainProjection && final.W && basis && reducedW0) model.W = fullProjection(final.W);
    if (trainResiduals) model.q = Float32Array.from(final.q);
    if (trainBiases) model.b = Float32Array.from(final.b);
    model.invalidate();
    return history ? { userVectors, losses, history } : { userVectors, losses };
  } finally {
    disposeSession(session);
  }
}

/** a (rows×inner) · b (inner×columns), row-major. */
function multiplyRows(a: Float32Array, rows: number, inner: number, b: Float32Array, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < inner; j++) {
      const x = a[r * inner + j]!;
      if (x === 0) continue;
      for (let t = 0; t < columns; t++) out[r * columns + t]! += x * b[j * columns + t]!;
    }
  }
  return out;
}

/**
 * A variable holding `values`. The tensor it is made from is disposed: a variable shares its data, so
 * keeping that tensor would keep the data alive after the variable is disposed (an n×d leak per run).
 */
function variableFrom(values: Float32Array, shape: number[], trainable: boolean): tf.Variable {
  const initial = tf.tensor(values, shape);
  const variable = tf.variable(initial, trainable);
  initial.dispose();
  return variable;
}

/** What a caller of trainBpr learns when the active backend failed mid-training. */
export interface BackendFailure {
  /** The TF.js backend that failed (tf.getBackend() at the time). */
  backend: string;
  error: unknown;
  /** The epoch that failed (1-based); training resumes at its start. */
  epoch: number;
  /** Epochs completed and kept (their losses are `losses`). */
  completedEpochs: number;
  losses: number[];
}

/** The trainable state read back from the backend: enough to resume on another one. */
interface Checkpoint {
  epochs: number;
  /** W's coordinates in the subspace (d×k), when W is trained. */
  W: Float32Array | null;
  q: Float32Array;
  b: Float32Array;
  u: Float32Array;
  /** The history encoder's W' (subspace coordinates) and p, when trained. */
  yW: Float32Array | null;
  p: Float32Array | null;
  /** The hidden layer's M (d×hidden) and c (hidden), when it has one. */
  M: Float32Array | null;
  c: Float32Array | null;
  /** The optimizer's state (tf.train.Optimizer getWeights: iteration count, then Adam's moments). */
  optimizer: { name: string; shape: number[]; dtype: 'float32' | 'int32'; values: Float32Array | Int32Array }[];
}

interface Session {
  wVar: tf.Variable | null;
  /** The history encoder's W' (d×k) and p (n×d). */
  yWVar: tf.Variable | null;
  pVar: tf.Variable | null;
  /** The hidden layer's M (d×hidden) and c (hidden×1). */
  mVar: tf.Variable | null;
  cVar: tf.Variable | null;
  qVar: tf.Variable;
  bVar: tf.Variable;
  uVar: tf.Variable;
  /** n×d (BPR) or d×n (softmax). */
  textConstant: tf.Tensor2D | null;
  /** n×k (BPR) or k×n (softmax). */
  reducedEmbeddings: tf.Tensor2D | null;
  /** Softmax with held-out items: 1 for items that may get a gradient, 0 otherwise (n). */
  itemMask: tf.Tensor1D | null;
  /** Per-item L2 weights f_i (n×1), or null for a uniform L2. */
  frequencyWeights: tf.Tensor2D | null;
  /** 0 or −1e9 per item (1×n), added to the logits. */
  logitMask: tf.Tensor2D | null;
  optimizer: tf.AdamOptimizer;
  /** The trained variables, in the optimizer's order. */
  variables: tf.Variable[];
}

/** Softmax: one batch of users, and the seed of its input dropout (asymmetric model). */
interface UserBatch {
  users: Int32Array;
  seed: number;
}

interface Batch {
  users: Int32Array;
  positives: Int32Array;
  negatives: Int32Array;
  weights: Float32Array;
  /** Sum of `weights`. */
  weight: number;
}

/**
 * Frees a session's tensors; on a lost device freeing may itself fail, which must not hide the real
 * error. Also frees what a step that failed half-way left on TF.js's gradient tape: tfjs-core cleans
 * the tape only when the backward pass completes (measured: ~50 tensors per failure otherwise).
 */
function disposeSession(session: Session): void {
  const engine = tf.engine() as unknown as { state?: { activeTape?: { saved?: tf.Tensor[] }[] | null; gradientDepth?: number } };
  const tape = engine.state?.gradientDepth === 0 ? engine.state.activeTape : null;
  for (const dispose of [
    ...(tape ?? []).flatMap((node) => (node.saved ?? []).map((t) => () => t.dispose())),
    () => {
      if (tape) engine.state!.activeTape = null;
    },
    () => session.optimizer.dispose(),
    ...[session.wVar, session.yWVar, session.pVar, session.mVar, session.cVar, session.qVar, session.bVar, session.uVar, session.textConstant, session.reducedEmbeddings, session.itemMask, session.logitMask, session.frequencyWeights].map((t) => () => t?.dispose()),
  ]) {
    try {
      dispose();
    } catch {
      // the backend is gone; its memory with it
    }
  }
}

/** Per user, the items with positive weight, their weights and input weights (repeated interactions summed), in first-seen order. */
function positivesByUser(data: TrainingData): { items: number[]; weights: number[]; inputs: number[] }[] {
  const out = Array.from({ length: data.userCount }, () => ({ items: [] as number[], weights: [] as number[], inputs: [] as number[], at: new Map<number, number>() }));
  const inputWeights = data.inputWeights ?? data.weights;
  if (inputWeights.length !== data.users.length) throw new RangeError('inputWeights differ in length from users');
  for (let k = 0; k < data.users.length; k++) {
    // Negative weights are negative targets (fineTuneUser's dislikes); a user's total must stay > 0.
    const weight = data.weights[k]!;
    if (weight === 0 || !Number.isFinite(weight)) continue;
    const entry = out[data.users[k]!]!;
    const item = data.items[k]!;
    const at = entry.at.get(item);
    if (at === undefined) {
      entry.at.set(item, entry.items.length);
      entry.items.push(item);
      entry.weights.push(weight);
      entry.inputs.push(inputWeights[k]!);
    } else {
      entry.weights[at]! += weight;
      entry.inputs[at]! += inputWeights[k]!;
    }
  }
  out.forEach(({ weights }, user) => {
    if (weights.length > 0 && !(weights.reduce((a, w) => a + w, 0) > 0)) throw new RangeError(`user ${user}'s target weights do not sum to more than 0`);
  });
  return out.map(({ items, weights, inputs }) => ({ items, weights, inputs }));
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
  /** Items shown and skipped: explicit negatives (the BPR objective; the softmax one has every item in its normaliser). */
  skipped?: readonly number[];
  /** Also fine-tune the local copy of q and b (default true; the BPR objective only). */
  updateItems?: boolean;
  /**
   * 'bpr' (default): sampled pairs against skipped, disliked and random items, as the online steps.
   * 'softmax': u alone, with trainSoftmax's multinomial likelihood over every item (the objective the
   * global model was trained with), the item side fixed; a dislike is a negative target. On
   * MovieLens-100K's Recommenders validation split it ranks as well as the centrally trained user
   * vectors (docs/benchmarks.md, "On the device").
   */
  objective?: 'bpr' | 'softmax';
  /**
   * The softmax objective only: the history is in time order, and an event's weight decays with how
   * many events came after it, × floor + (1 − floor)·2^(−r/halfLife) (the quality bench's target
   * recency). Default USER_SOFTMAX_DEFAULTS.recency; null: every event by its kind alone.
   */
  recency?: { halfLife: number; floor: number } | null;
  onEpoch?: (progress: EpochProgress) => void | Promise<void>;
  signal?: AbortSignal;
  /** See TrainOptions.onBackendFailure: resume on another backend after a failure, keeping the epochs done. */
  onBackendFailure?: (failure: BackendFailure) => Promise<void>;
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
  if (positives.length === 0) return { user: Float32Array.from(user), losses: [] };
  if (options.objective === 'softmax') return fineTuneUserSoftmax(model, user, history, options);
  const negatives = [
    ...history.filter((event) => event.kind === 'dislike').map((event) => event.item),
    ...(options.skipped ?? []),
  ];
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
      ...(options.onBackendFailure ? { onBackendFailure: options.onBackendFailure } : {}),
    },
  );
  return { user: result.userVectors, losses: result.losses };
}

/**
 * Defaults of fineTuneUser's softmax objective, chosen on MovieLens-100K validation splits
 * (docs/benchmarks.md, "On the device"): on the Recommenders one nDCG@10 0.2754 at 40 epochs against
 * 0.2694 at 20 and 0.2761 at 60, lr 0.1 over 0.03 and 0.3, L2 0.2 over 0.1 and 0.4; recency (the central
 * trainer's target recency on the temporal protocols) on leave-one-out: HR@10 0.7328 against 0.6967
 * without, at a cost of 0.005 nDCG@10 on the random Recommenders split, where there is no "next".
 */
export const USER_SOFTMAX_DEFAULTS = { epochs: 40, learningRate: 0.1, l2: 0.2, recency: { halfLife: 10, floor: 0.25 } } as const;

/**
 * fineTuneUser with the softmax objective: trainSoftmax for one user, only u trained. Dislikes are
 * negative targets, their total held to half the positives' so the likelihood keeps a maximum.
 */
async function fineTuneUserSoftmax(model: HybridModel, user: Float32Array, history: readonly HistoryEvent[], options: FineTuneOptions): Promise<{ user: Float32Array; losses: number[] }> {
  const recency = options.recency === undefined ? USER_SOFTMAX_DEFAULTS.recency : options.recency;
  if (recency && !(recency.halfLife > 0 && recency.floor >= 0 && recency.floor <= 1)) throw new RangeError('recency needs halfLife > 0 and floor in [0, 1]');
  const weights = history.map((event, index) =>
    EVENT_WEIGHTS[event.kind] * (recency ? recency.floor + (1 - recency.floor) * Math.pow(2, -(history.length - 1 - index) / recency.halfLife) : 1),
  );
  const positiveWeight = weights.reduce((sum, w, k) => (history[k]!.kind === 'dislike' ? sum : sum + w), 0);
  const dislikeWeight = weights.reduce((sum, w, k) => (history[k]!.kind === 'dislike' ? sum + w : sum), 0);
  const dislikeScale = dislikeWeight > 0 ? Math.min(1, (0.5 * positiveWeight) / dislikeWeight) : 0;
  const result = await trainSoftmax(
    model,
    {
      userCount: 1,
      users: new Int32Array(history.length),
      items: Int32Array.from(history, (event) => event.item),
      weights: Float32Array.from(history, (event, k) => (event.kind === 'dislike' ? -dislikeScale : 1) * weights[k]!),
    },
    {
      epochs: options.epochs ?? USER_SOFTMAX_DEFAULTS.epochs,
      batchSize: 1,
      learningRate: options.learningRate ?? USER_SOFTMAX_DEFAULTS.learningRate,
      l2: options.l2 ?? USER_SOFTMAX_DEFAULTS.l2,
      seed: options.seed ?? 7,
      useText: true,
      trainProjection: false,
      trainResiduals: false,
      trainBiases: false,
      trainUsers: true,
      initialUsers: Float32Array.from(user),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onBackendFailure ? { onBackendFailure: options.onBackendFailure } : {}),
    },
  );
  return { user: result.userVectors, losses: result.losses };
}

/**
 * The per-item L2 weights of `l2FrequencyPower`: f_i = (c_i + 1)^β normalised to mean 1 over the items
 * that can be trained (held-out items get 0: their rows are masked anyway). null when β = 0.
 */
export function itemFrequencyWeights(data: TrainingData, itemCount: number, power: number, itemMask: Float32Array | null = null): Float32Array | null {
  if (power === 0) return null;
  if (!Number.isFinite(power)) throw new RangeError('l2FrequencyPower must be finite');
  const counts = new Float64Array(itemCount);
  for (const item of data.items) counts[item]! += 1;
  const weights = new Float32Array(itemCount);
  let sum = 0;
  let trainable = 0;
  for (let i = 0; i < itemCount; i++) {
    if (itemMask && itemMask[i] === 0) continue;
    const weight = Math.pow(counts[i]! + 1, power);
    weights[i] = weight;
    sum += weight;
    trainable++;
  }
  const scale = trainable > 0 ? trainable / sum : 0;
  for (let i = 0; i < itemCount; i++) weights[i]! *= scale;
  return weights;
}
