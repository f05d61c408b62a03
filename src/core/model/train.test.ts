import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../../cli/data/tf-node';
import { seededUniform } from '../federated/random';
import { HybridModel } from './hybrid';
import { fineTuneUser, trainBpr, type TrainingData } from './train';

/** 12 users, 20 items in two topics; even users like topic A (even items), odd users topic B. */
function synthetic() {
  const uniform = seededUniform(21);
  const itemCount = 20;
  const dim = 16;
  const embeddings = new Float32Array(itemCount * dim);
  for (let i = 0; i < itemCount; i++) {
    const row = Float32Array.from({ length: dim }, () => (uniform() - 0.5) * 0.5);
    row[i % 2]! += 1;
    const norm = Math.hypot(...row);
    embeddings.set(row.map((x) => x / norm), i * dim);
  }
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 12; u++) for (let i = u % 2; i < 16; i += 2) if (uniform() < 0.7) (users.push(u), items.push(i));
  const data: TrainingData = { userCount: 12, users: Int32Array.from(users), items: Int32Array.from(items), weights: new Float32Array(users.length).fill(1) };
  const model = () => new HybridModel({ itemIds: Array.from({ length: itemCount }, (_, i) => `i${i}`), embeddings, embeddingDim: dim, factors: 4 });
  return { data, model };
}

async function trainOn(backend: 'cpu' | 'wasm') {
  await useNodeBackend(backend);
  const { data, model } = synthetic();
  const m = model();
  const result = await trainBpr(m, data, { epochs: 15, batchSize: 32, learningRate: 0.05, seed: 1, subspace: 8 });
  return { m, result };
}

describe('trainBpr (TF.js)', () => {
  afterAll(async () => useNodeBackend('cpu'));

  it('lowers the loss and learns the topics, identically on cpu and wasm within 1e-3', async () => {
    const cpu = await trainOn('cpu');
    const wasm = await trainOn('wasm');
    expect(cpu.result.losses.at(-1)!).toBeLessThan(cpu.result.losses[0]! * 0.7);
    // Unseen topic-A item 18 beats topic-B item 19 for user 0 (a topic-A user): text generalises.
    const u0 = cpu.result.userVectors.subarray(0, 4);
    expect(cpu.m.score(u0, 18)).toBeGreaterThan(cpu.m.score(u0, 19));
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
    expect(maxDiff(cpu.result.userVectors, wasm.result.userVectors)).toBeLessThan(1e-3);
    expect(maxDiff(cpu.m.W, wasm.m.W)).toBeLessThan(1e-3);
    expect(maxDiff(cpu.m.q, wasm.m.q)).toBeLessThan(1e-3);
    expect(cpu.result.losses.map((l, i) => Math.abs(l - wasm.result.losses[i]!)).every((d) => d < 1e-4)).toBe(true);
    expect(tf.memory().numTensors).toBeLessThan(50); // variables and optimizer state were disposed
  });

  it('fine-tunes one user from their history, leaving W alone and reporting a loss per epoch', async () => {
    await useNodeBackend('cpu');
    const { model } = synthetic();
    const m = model();
    const W = Float32Array.from(m.W);
    const epochs: number[] = [];
    const { user, losses } = await fineTuneUser(m, m.newUserVector(), [{ kind: 'like', item: 0 }, { kind: 'click', item: 2 }, { kind: 'dislike', item: 1 }], {
      epochs: 10,
      onEpoch: (p) => void epochs.push(p.epoch),
    });
    expect(losses).toHaveLength(10);
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(m.W).toEqual(W);
    expect(m.score(user, 4)).toBeGreaterThan(m.score(user, 1)); // topic A over the disliked topic-B item
  });
});
