/** The BPR objective: sampled (user, positive, negative) pairs, the negatives explicit or random unseen items. */
import * as tf from '@tensorflow/tfjs';
import { shuffleInPlace, type Uniform } from '../random';
import type { TrainingData } from './train-options';
import type { Objective, Session } from './train-session';
import { gatherRows } from './tf-ops';
import { runSteps } from './train-step';

interface Batch {
  users: Int32Array;
  positives: Int32Array;
  negatives: Int32Array;
  weights: Float32Array;
  /** Sum of `weights`. */
  weight: number;
}

export interface BprSetup {
  data: TrainingData;
  batchSize: number;
  uniform: Uniform;
  /** L2 on the rows a batch touches (u and the item rows) and on W. */
  l2: number;
  /** Chance of taking an explicit negative (when the user has any) rather than a random unseen item. */
  explicitRate: number;
  /** Items random negatives are drawn from. */
  pool: Int32Array;
}

export function bprObjective({ data, batchSize, uniform, l2, explicitRate, pool }: BprSetup): Objective<Batch> {
  const count = data.users.length;
  const seen: Set<number>[] = Array.from({ length: data.userCount }, () => new Set<number>());
  for (let k = 0; k < count; k++) seen[data.users[k]!]!.add(data.items[k]!);
  // Shuffled in place every epoch: each epoch's order follows from the last.
  const order = Int32Array.from({ length: count }, (_, i) => i);

  const plan = (): Batch[] => {
    shuffleInPlace(order, uniform);
    const batches: Batch[] = [];
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start);
      const batch: Batch = {
        users: new Int32Array(size),
        positives: new Int32Array(size),
        negatives: new Int32Array(size),
        weights: new Float32Array(size),
        weight: 0,
      };
      for (let j = 0; j < size; j++) {
        const row = order[start + j]!;
        const user = data.users[row]!;
        batch.users[j] = user;
        batch.positives[j] = data.items[row]!;
        batch.weights[j] = data.weights[row]!;
        batch.negatives[j] = sampleNegative(seen[user]!, data.explicitNegatives?.[user], explicitRate, pool, uniform);
      }
      batch.weight = batch.weights.reduce((a, b) => a + b, 0);
      batches.push(batch);
    }
    return batches;
  };

  const run = (session: Session, batches: readonly Batch[]): Promise<number> => {
    const { wVar, qVar, bVar, uVar, textConstant: text, reducedEmbeddings: reduced } = session;
    return runSteps(session, batches, (batch) => {
      const size = batch.users.length;
      const batchWeight = batch.weight;
      const [uT, pT, nT, wT] = [
        tf.tensor1d(batch.users, 'int32'),
        tf.tensor1d(batch.positives, 'int32'),
        tf.tensor1d(batch.negatives, 'int32'),
        tf.tensor1d(batch.weights),
      ];
      const loss = () => {
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
      };
      return { weight: batchWeight, inputs: [uT, pT, nT, wT], loss };
    });
  };

  return { plan, run };
}

function sampleNegative(seen: Set<number>, explicit: readonly number[] | undefined, explicitRate: number, pool: Int32Array, uniform: Uniform): number {
  if (explicit && explicit.length > 0 && uniform() < explicitRate) {
    return explicit[Math.floor(uniform() * explicit.length)]!;
  }
  // Rejection sampling: users see a small share of the catalog, so a few tries suffice.
  for (let attempt = 0; attempt < 50; attempt++) {
    const item = pool[Math.floor(uniform() * pool.length)]!;
    if (!seen.has(item)) return item;
  }
  return pool[Math.floor(uniform() * pool.length)]!;
}
