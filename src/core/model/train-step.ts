/** The step loop both objectives share (train-bpr.ts, train-softmax.ts): one optimizer step per batch, the epoch's loss weighted by batch. */
import * as tf from '@tensorflow/tfjs';
import { readAndDispose } from './tf-ops';
import type { Session } from './train-session';

/** One batch made ready for its step. */
export interface Step {
  /** The batch's weight: its share of the epoch's mean loss. */
  weight: number;
  /** The tensors made for this step: disposed after it, also when it throws. */
  inputs: readonly (tf.Tensor | null)[];
  /** The batch's objective, which the optimizer minimizes over the session's variables. */
  loss: () => tf.Scalar;
}

/**
 * Runs one optimizer step per batch (`prepare` gives null for a batch with nothing to learn) and returns
 * the mean of the steps' losses weighted by the batches' weights (0 when no step ran).
 */
export async function runSteps<B>(session: Session, batches: readonly B[], prepare: (batch: B) => Step | null): Promise<number> {
  const { optimizer, variables } = session;
  let lossSum = 0;
  let weightSum = 0;
  for (const batch of batches) {
    const step = prepare(batch);
    if (!step) continue;
    try {
      // In a tidy: a step that throws half-way (a lost device) leaves nothing behind.
      const cost = tf.tidy(() => optimizer.minimize(step.loss, true, variables)!);
      lossSum += (await readAndDispose(cost)) * step.weight;
      weightSum += step.weight;
    } finally {
      for (const tensor of step.inputs) tensor?.dispose();
    }
  }
  return weightSum > 0 ? lossSum / weightSum : 0;
}
