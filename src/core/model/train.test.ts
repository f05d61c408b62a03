import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../../cli/data/tf-node';
import { flakyBackend, maxDiff, trainThroughFailure } from './testing/flaky-backend';
import { twoTopicTraining } from './testing/two-topics';
import { fineTuneUser } from './fine-tune-user';
import { trainBpr, type BackendFailure } from './train';

const synthetic = twoTopicTraining;

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
    const tensorsBefore = tf.memory().numTensors;
    const { user, losses } = await fineTuneUser(
      m,
      m.newUserVector(),
      [
        { kind: 'like', item: 0 },
        { kind: 'click', item: 2 },
        { kind: 'dislike', item: 1 },
      ],
      {
        epochs: 10,
        onEpoch: (p) => void epochs.push(p.epoch),
      },
    );
    expect(losses).toHaveLength(10);
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(m.W).toEqual(W);
    expect(tf.memory().numTensors).toBe(tensorsBefore); // every tensor freed (the variables' initial values leaked before)
    expect(m.score(user, 4)).toBeGreaterThan(m.score(user, 1)); // topic A over the disliked topic-B item
  });
});

describe("fineTuneUser with the softmax objective (the engine's fine-tune)", () => {
  afterAll(async () => useNodeBackend('cpu'));
  const history = [
    { kind: 'like' as const, item: 0 },
    { kind: 'like' as const, item: 2 },
    { kind: 'click' as const, item: 4 },
  ];

  it("trains u alone toward the history's topic, its loss falling, every tensor freed", async () => {
    await useNodeBackend('cpu');
    const m = synthetic().model();
    const [W, q, b] = [Float32Array.from(m.W), Float32Array.from(m.q), Float32Array.from(m.b)];
    const tensorsBefore = tf.memory().numTensors;
    const { user, losses } = await fineTuneUser(m, m.newUserVector(), history, { objective: 'softmax', epochs: 15 });
    expect(losses).toHaveLength(15);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect([m.W, m.q, m.b]).toEqual([W, q, b]); // the items are the global model's: only u is the user's
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    // Unseen topic-A items (even indices) above unseen topic-B ones (odd).
    expect(Math.min(m.score(user, 6), m.score(user, 8))).toBeGreaterThan(Math.max(m.score(user, 7), m.score(user, 9)));
  });

  it('counts a dislike against its item, and refuses nothing when dislikes outweigh likes (they are capped)', async () => {
    await useNodeBackend('cpu');
    const m = synthetic().model();
    const plain = await fineTuneUser(m, m.newUserVector(), history, { objective: 'softmax', epochs: 15 });
    const disliked = await fineTuneUser(m, m.newUserVector(), [...history, { kind: 'dislike', item: 6 }], { objective: 'softmax', epochs: 15 });
    expect(m.score(disliked.user, 6) - m.score(plain.user, 6)).toBeLessThan(-1e-3);
    const many = Array.from({ length: 10 }, (_, k) => ({ kind: 'dislike' as const, item: 2 * k + 1 }));
    const capped = await fineTuneUser(m, m.newUserVector(), [{ kind: 'like', item: 0 }, ...many], { objective: 'softmax', epochs: 5 });
    expect(capped.losses.every(Number.isFinite)).toBe(true);
  });

  it('with recency, the later events weigh more: a history that moved from topic A to B leans to B', async () => {
    await useNodeBackend('cpu');
    const m = synthetic().model();
    const moved = [0, 2, 4, 1, 3, 5].map((item) => ({ kind: 'like' as const, item })); // A (even) first, then B (odd)
    const lean = (u: Float32Array) => m.score(u, 9) - m.score(u, 8); // unseen B minus unseen A
    const flat = await fineTuneUser(m, m.newUserVector(), moved, { objective: 'softmax', epochs: 15 });
    const recent = await fineTuneUser(m, m.newUserVector(), moved, { objective: 'softmax', epochs: 15, recency: { halfLife: 1, floor: 0.1 } });
    expect(lean(recent.user)).toBeGreaterThan(lean(flat.user) + 1e-3);
    expect(lean(recent.user)).toBeGreaterThan(0);
    await expect(fineTuneUser(m, m.newUserVector(), moved, { objective: 'softmax', recency: { halfLife: 0, floor: 0.5 } })).rejects.toThrow(/recency/);
  });

  it('resumes after a backend failure with the uninterrupted result', async () => {
    await useNodeBackend('cpu');
    const { model } = synthetic();
    const expected = await fineTuneUser(model(), model().newUserVector(), history, { objective: 'softmax', epochs: 10 });
    const m = model();
    const { result, failures } = await trainThroughFailure(150, (onBackendFailure) =>
      fineTuneUser(m, m.newUserVector(), history, { objective: 'softmax', epochs: 10, onBackendFailure }),
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]!.completedEpochs).toBeGreaterThan(0);
    expect(maxDiff(result.losses, expected.losses)).toBeLessThan(1e-6);
    expect(maxDiff(result.user, expected.user)).toBeLessThan(1e-6);
  });
});

describe('trainBpr when the backend fails mid-training', () => {
  const options = { epochs: 15, batchSize: 32, learningRate: 0.05, seed: 1, subspace: 8 };
  afterAll(async () => {
    flakyBackend().heal();
    await useNodeBackend('cpu');
  });

  /** Kernel calls of the flaky backend per epoch of `options` (the same every epoch: same batch count). */
  async function callsPerEpoch(): Promise<number[]> {
    const flaky = flakyBackend();
    flaky.heal();
    await tf.setBackend(flaky.name);
    const marks: number[] = [flaky.calls];
    await trainBpr(synthetic().model(), synthetic().data, { ...options, onEpoch: () => void marks.push(flaky.calls) });
    return marks;
  }

  it('falls back to the next backend and resumes from the last epoch: same losses, u, W, q, b as an uninterrupted run', async () => {
    await useNodeBackend('cpu');
    const { data, model } = synthetic();
    const clean = model();
    const expected = await trainBpr(clean, data, options);

    const marks = await callsPerEpoch();
    const flaky = flakyBackend();
    await tf.setBackend(flaky.name);
    const tensorsBefore = tf.memory().numTensors;
    // Fail halfway through epoch 6 (after 5 completed epochs).
    const failAt = Math.round((marks[5]! + marks[6]!) / 2) - marks[0]!;
    const m = model();
    const failures: BackendFailure[] = [];
    const epochsSeen: number[] = [];
    flaky.failAfter(failAt + (flaky.calls - marks[marks.length - 1]!));
    const result = await trainBpr(m, data, {
      ...options,
      onEpoch: (p) => void epochsSeen.push(p.epoch),
      onBackendFailure: async (failure) => {
        failures.push(failure);
        await tf.setBackend('cpu');
      },
    });
    flaky.heal();
    expect(flaky.failures).toBeGreaterThan(0);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ backend: flaky.name, epoch: 6, completedEpochs: 5 });
    expect(failures[0]!.losses).toEqual(expected.losses.slice(0, 5));
    expect(String(failures[0]!.error)).toMatch(/device lost \(injected\)/);
    expect(tf.getBackend()).toBe('cpu');
    // Each epoch reported once, in order: the failed epoch was replayed, not counted twice.
    expect(epochsSeen).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    // The same kernels (cpu under two names), the same batches, the optimizer's moments restored:
    // the run is the uninterrupted one. Not to the last bit: Adam's β^t is restored as pow(β, t) where
    // the uninterrupted run multiplied by β t times (measured: at most 2.4e-7, one float32 ulp of these values).
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
    expect(result.losses).toHaveLength(15);
    expect(maxDiff(result.losses, expected.losses)).toBeLessThan(1e-6);
    expect(maxDiff(result.userVectors, expected.userVectors)).toBeLessThan(1e-6);
    expect(maxDiff(m.W, clean.W)).toBeLessThan(1e-6);
    expect(maxDiff(m.q, clean.q)).toBeLessThan(1e-6);
    expect(maxDiff(m.b, clean.b)).toBeLessThan(1e-6);
    // The failed session's tensors were freed. Depending on where the step failed, TF.js's gradient
    // machinery can keep one batch-sized clone on the abandoned backend (seen at one failure point).
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensorsBefore + 1);
  });

  it('without a fallback the failure ends training and leaves the model untouched', async () => {
    const flaky = flakyBackend();
    await tf.setBackend(flaky.name);
    const { data, model } = synthetic();
    const m = model();
    const [W, q, b] = [Float32Array.from(m.W), Float32Array.from(m.q), Float32Array.from(m.b)];
    flaky.failAfter(500);
    await expect(trainBpr(m, data, options)).rejects.toThrow(/device lost/);
    // A fallback that leaves the failed backend active cannot help either: the error comes back.
    flaky.failAfter(500);
    await expect(trainBpr(m, data, { ...options, onBackendFailure: async () => {} })).rejects.toThrow(/device lost/);
    flaky.heal();
    expect(m.W).toEqual(W);
    expect(m.q).toEqual(q);
    expect(m.b).toEqual(b);
  });

  it("fineTuneUser (the worker's fine-tune) resumes the same way", async () => {
    const history = [
      { kind: 'like' as const, item: 0 },
      { kind: 'click' as const, item: 2 },
      { kind: 'dislike' as const, item: 1 },
    ];
    await useNodeBackend('cpu');
    const { model } = synthetic();
    const clean = model();
    const expected = await fineTuneUser(clean, clean.newUserVector(), history, { epochs: 10 });
    const m = model();
    // One batch per epoch here: a few epochs in.
    const { result, failures } = await trainThroughFailure(300, (onBackendFailure) =>
      fineTuneUser(m, m.newUserVector(), history, { epochs: 10, onBackendFailure }),
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]!.completedEpochs).toBeGreaterThan(0);
    expect(failures[0]!.completedEpochs).toBeLessThan(10);
    expect(result.losses).toHaveLength(10);
    expect(maxDiff(result.losses, expected.losses)).toBeLessThan(1e-6);
    expect(maxDiff(result.user, expected.user)).toBeLessThan(1e-6);
    expect(maxDiff(m.q, clean.q)).toBeLessThan(1e-6);
    expect(maxDiff(m.b, clean.b)).toBeLessThan(1e-6);
  });
});
