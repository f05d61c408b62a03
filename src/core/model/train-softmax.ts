/**
 * The softmax objective (Mult-VAE's multinomial likelihood): each batch of users scored against every
 * item with one dense matmul, every item the user did not interact with a negative. With a history
 * encoder (the asymmetric model), u is computed from the user's items, some dropped from the input.
 */
import * as tf from '@tensorflow/tfjs';
import { seededUniform, shuffleInPlace, type Uniform } from '../random';
import type { TrainingData } from './train-options';
import type { Objective, Session } from './train-session';
import { gatherRows, plainMatMul, softmaxCrossEntropy } from './tf-ops';
import { runSteps } from './train-step';

/** One batch of users, and the seed of its input dropout (asymmetric model). */
interface UserBatch {
  users: Int32Array;
  seed: number;
}

type Positives = { items: number[]; weights: number[]; inputs: number[] }[];

/** The items the softmax runs over, and how each item's row is regularised. */
export interface SoftmaxItems {
  /** Per user, the items with positive weight, their target and input weights. */
  positives: Positives;
  /** 1 for items that may get a gradient, 0 for held-out ones; null when every item may. */
  itemMask: Float32Array | null;
  allowedCount: number;
  /** Per-item L2 weights f_i, or null for a uniform L2. */
  frequencyWeights: Float32Array | null;
}

/** The softmax's normaliser runs over `pool` ∪ the items in `data`: an item outside both is held out and never gets a gradient. */
export function softmaxItems(data: TrainingData, n: number, pool: Int32Array, l2FrequencyPower: number, restricted: boolean): SoftmaxItems {
  const positives = positivesByUser(data);
  let itemMask: Float32Array | null = null;
  if (restricted) {
    const allowed = new Float32Array(n);
    for (const item of pool) allowed[item] = 1;
    for (const item of data.items) allowed[item] = 1;
    if (allowed.some((x) => x === 0)) itemMask = allowed;
  }
  const allowedCount = itemMask ? itemMask.reduce((a, x) => a + x, 0) : n;
  const frequencyWeights = itemFrequencyWeights(data, n, l2FrequencyPower, itemMask);
  return { positives, itemMask, allowedCount, frequencyWeights };
}

export interface SoftmaxSetup {
  n: number;
  batchSize: number;
  uniform: Uniform;
  items: SoftmaxItems;
  /** L2 on q (per trainable item, mean), on u (per user of the batch, mean), on W, W' and M, and on p. */
  l2: number;
  l2Users: number;
  l2Projection: number;
  l2History: number;
  /** Free user vectors are trained (with a history encoder: added to the encoded part). */
  trainUsers: boolean;
  /** The asymmetric model's input: α of (Σ w)^−α, the input dropout, the kept items' target weight κ. */
  historyEncoder: { alpha: number; dropout: number; keptTargetWeight: number } | undefined;
}

export function softmaxObjective(setup: SoftmaxSetup): Objective<UserBatch> {
  const { n, batchSize, uniform, l2, l2Users, l2Projection, l2History, trainUsers } = setup;
  const { positives, allowedCount } = setup.items;
  const historyEncoder = setup.historyEncoder;
  const alpha = historyEncoder?.alpha ?? 0.5;
  const dropout = historyEncoder?.dropout ?? 0;
  const keptTargetWeight = historyEncoder?.keptTargetWeight ?? 1;
  // Shuffled in place every epoch: each epoch's order follows from the last.
  const activeUsers = Int32Array.from(positives.flatMap((p, user) => (p.items.length > 0 ? [user] : [])));

  /** The users in a seeded random order, cut into batches (each with a seed for its input dropout). */
  const plan = (): UserBatch[] => {
    shuffleInPlace(activeUsers, uniform);
    const batches: UserBatch[] = [];
    for (let start = 0; start < activeUsers.length; start += batchSize) {
      batches.push({ users: activeUsers.slice(start, start + batchSize), seed: historyEncoder && dropout > 0 ? Math.floor(uniform() * 2 ** 31) : 0 });
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

  const run = (session: Session, batches: readonly UserBatch[]): Promise<number> => {
    const {
      wVar,
      yWVar,
      pVar,
      mVar,
      cVar,
      qVar,
      bVar,
      uVar,
      textConstant: text,
      reducedEmbeddings: reduced,
      itemMask: mask,
      logitMask,
      frequencyWeights: itemWeights,
    } = session;
    /** Σ_i f_i ‖row_i‖² (Σ ‖row_i‖² when the L2 is uniform). */
    const rowPenalty = (rows: tf.Tensor): tf.Tensor => tf.sum(itemWeights ? tf.mul(tf.square(rows), itemWeights) : tf.square(rows));
    return runSteps(session, batches, (batch) => {
      const users = batch.users;
      const size = users.length;
      const history = historyEncoder ? historyInputs(batch) : null;
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
      if (batchWeight === 0) return null; // every target kept in the input with κ = 0: nothing to learn
      const usersT = tf.tensor1d(users, 'int32');
      const targetsT = tf.tensor2d(targets, [size, n]);
      const inputsT = history ? tf.tensor2d(history.inputs, [n, size]) : null;
      const loss = () => {
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
      };
      return { weight: batchWeight, inputs: [usersT, targetsT, inputsT], loss };
    });
  };

  return { plan, run };
}

/** Per user, the items with positive weight, their weights and input weights (repeated interactions summed), in first-seen order. */
function positivesByUser(data: TrainingData): Positives {
  const out = Array.from({ length: data.userCount }, () => ({
    items: [] as number[],
    weights: [] as number[],
    inputs: [] as number[],
    at: new Map<number, number>(),
  }));
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
