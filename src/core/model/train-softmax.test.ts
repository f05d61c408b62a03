import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../../cli/data/tf-node';
import { seededUniform } from '../random';
import { maxDiff, trainThroughFailure } from './testing/flaky-backend';
import { twoTopicTraining } from './testing/two-topics';
import { itemFrequencyWeights, plainMatMul, softmaxCrossEntropy, trainSoftmax } from './train';

const synthetic = twoTopicTraining;

const options = { epochs: 20, batchSize: 5, learningRate: 0.05, l2: 1e-3, seed: 1, subspace: 8, trainBiases: true };

describe('softmaxCrossEntropy and plainMatMul (the pieces with hand-written gradients)', () => {
  afterAll(async () => useNodeBackend('cpu'));

  it('gives the value and gradient of −Σ y·log softmax(x) by hand, and what autodiff of the plain formula gives', async () => {
    await useNodeBackend('cpu');
    // One row, logits [0, ln 2, ln 5]: softmax = [1/8, 2/8, 5/8]; targets [2, 0, 1] (weight 3).
    const x = tf.tensor2d([[0, Math.log(2), Math.log(5)]]);
    const y = tf.tensor2d([[2, 0, 1]]);
    expect(softmaxCrossEntropy(x, y).dataSync()[0]).toBeCloseTo(-(2 * Math.log(1 / 8) + Math.log(5 / 8)), 5);
    // d/dx = 3·softmax − y = [3/8 − 2, 6/8, 15/8 − 1]
    const grad = tf
      .grad((logits: tf.Tensor) => softmaxCrossEntropy(logits, y))(x)
      .dataSync();
    expect(Array.from(grad)).toEqual([3 / 8 - 2, 6 / 8, 15 / 8 - 1].map((g) => expect.closeTo(g, 5)));

    // Random batch, with a masked (−1e9) column: matches tf.logSoftmax's autodiff and finite differences.
    const uniform = seededUniform(3);
    const values = Float32Array.from({ length: 4 * 6 }, () => (uniform() - 0.5) * 4);
    for (let r = 0; r < 4; r++) values[r * 6 + 5] = -1e9;
    const logits = tf.tensor2d(values, [4, 6]);
    const targets = tf.tensor2d(
      Float32Array.from({ length: 24 }, (_, i) => (i % 6 !== 5 && uniform() < 0.4 ? 1 + Math.floor(uniform() * 2) : 0)),
      [4, 6],
    );
    const reference = (l: tf.Tensor) => tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(l)))) as tf.Scalar;
    expect(softmaxCrossEntropy(logits, targets).dataSync()[0]).toBeCloseTo(reference(logits).dataSync()[0]!, 4);
    const ours = tf
      .grad((l: tf.Tensor) => softmaxCrossEntropy(l, targets))(logits)
      .dataSync();
    const theirs = tf.grad(reference)(logits).dataSync();
    expect(maxDiff(ours, theirs)).toBeLessThan(1e-5);
    for (const r of [0, 1, 2, 3]) expect(ours[r * 6 + 5]).toBe(0); // the masked item gets no gradient
    const f = (v: Float32Array) => {
      const t = tf.tensor2d(v, [4, 6]);
      const out = softmaxCrossEntropy(t, targets).dataSync()[0]!;
      t.dispose();
      return out;
    };
    for (const at of [0, 7, 14, 21]) {
      const h = 1e-2;
      const plus = Float32Array.from(values);
      plus[at]! += h;
      const minus = Float32Array.from(values);
      minus[at]! -= h;
      expect(ours[at]).toBeCloseTo((f(plus) - f(minus)) / (2 * h), 2);
    }
  });

  it("plainMatMul has matMul's value and gradients", async () => {
    await useNodeBackend('wasm');
    const uniform = seededUniform(5);
    const a = tf.tensor2d(
      Float32Array.from({ length: 3 * 4 }, () => uniform() - 0.5),
      [3, 4],
    );
    const b = tf.tensor2d(
      Float32Array.from({ length: 4 * 5 }, () => uniform() - 0.5),
      [4, 5],
    );
    const weights = tf.tensor2d(
      Float32Array.from({ length: 15 }, () => uniform()),
      [3, 5],
    );
    const loss = (mm: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(weights, mm(x as tf.Tensor2D, y as tf.Tensor2D)));
    expect(maxDiff(plainMatMul(a, b).dataSync(), tf.matMul(a, b).dataSync())).toBeLessThan(1e-6);
    const ours = tf.grads(loss(plainMatMul))([a, b]);
    const theirs = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
    expect(maxDiff(ours[0]!.dataSync(), theirs[0]!.dataSync())).toBeLessThan(1e-6);
    expect(maxDiff(ours[1]!.dataSync(), theirs[1]!.dataSync())).toBeLessThan(1e-6);
  });
});

describe('trainSoftmax (TF.js)', () => {
  afterAll(async () => useNodeBackend('cpu'));

  it('lowers the loss and learns the topics, identically on cpu and wasm within 1e-3, freeing its tensors', async () => {
    const runs = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useNodeBackend(backend);
      const { data, model } = synthetic();
      const m = model();
      const tensorsBefore = tf.memory().numTensors;
      // Items 16–19 held out (cold): only the text can place them.
      const result = await trainSoftmax(m, { ...data, negativePool: Int32Array.from({ length: 16 }, (_, i) => i) }, options);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      runs.push({ m, result });
    }
    const [cpu, wasm] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(cpu.result.losses).toHaveLength(20);
    expect(cpu.result.losses.at(-1)!).toBeLessThan(cpu.result.losses[0]! * 0.8);
    // Users rank the held-out item of their topic over the other topic's: the text carries it.
    let right = 0;
    for (let u = 0; u < 12; u++) {
      const user = cpu.result.userVectors.subarray(u * 4, u * 4 + 4);
      const [own, other] = u % 2 === 0 ? [18, 19] : [19, 18];
      if (cpu.m.score(user, own) > cpu.m.score(user, other)) right++;
    }
    expect(right).toBe(12);
    expect(maxDiff(cpu.result.userVectors, wasm.result.userVectors)).toBeLessThan(1e-3);
    expect(maxDiff(cpu.m.W, wasm.m.W)).toBeLessThan(1e-3);
    expect(maxDiff(cpu.m.q, wasm.m.q)).toBeLessThan(1e-3);
    expect(maxDiff(cpu.result.losses, wasm.result.losses)).toBeLessThan(1e-4);
  });

  it('never moves the q and b of items outside negativePool ∪ the interacted items, with or without text', async () => {
    await useNodeBackend('wasm');
    const { data, model } = synthetic();
    const pool = Int32Array.from({ length: 16 }, (_, i) => i); // 16–19 held out
    for (const useText of [true, false]) {
      const m = model();
      m.b.fill(0.25); // so "untouched" is not just "still zero"
      const W = Float32Array.from(m.W);
      const result = await trainSoftmax(m, { ...data, negativePool: pool }, { ...options, useText, initScale: 0.1 });
      for (const item of [16, 17, 18, 19]) {
        expect(m.b[item]).toBe(0.25);
        if (useText) expect(Array.from(m.q.subarray(item * 4, item * 4 + 4))).toEqual([0, 0, 0, 0]);
      }
      for (const item of [0, 1]) expect(m.b[item]).not.toBe(0.25);
      if (useText) expect(maxDiff(m.W, W)).toBeGreaterThan(1e-3); // W still learns, from the items in the loss
      expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]!);
    }
    // Without text q starts random: the held-out rows keep exactly their initial values.
    const m = model();
    const initial = await (async () => {
      const probe = model();
      await trainSoftmax(probe, { ...data, negativePool: pool }, { ...options, epochs: 0, useText: false, initScale: 0.1 });
      return probe.q;
    })();
    await trainSoftmax(m, { ...data, negativePool: pool }, { ...options, useText: false, initScale: 0.1 });
    expect(Array.from(m.q.subarray(16 * 4))).toEqual(Array.from(initial.subarray(16 * 4)));
    expect(maxDiff(m.q.subarray(0, 16 * 4), initial.subarray(0, 16 * 4))).toBeGreaterThan(1e-2);
  });

  it("frequency-scaled L2 (l2FrequencyPower): weights (c + 1)^β of mean 1, pulling the frequent items' rows harder for β > 0", async () => {
    // Counts 3, 1, 0: (c + 1) = 4, 2, 1, mean 7/3.
    const data = { userCount: 2, users: Int32Array.from([0, 0, 1, 1]), items: Int32Array.from([0, 0, 0, 1]), weights: new Float32Array(4).fill(1) };
    expect(itemFrequencyWeights(data, 3, 0)).toBeNull();
    expect(Array.from(itemFrequencyWeights(data, 3, 1)!)).toEqual([12 / 7, 6 / 7, 3 / 7].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(itemFrequencyWeights(data, 3, -1)!)).toEqual([3 / 7, 6 / 7, 12 / 7].map((x) => expect.closeTo(x, 6)));
    // A held-out item takes no weight and is left out of the mean: 4, 2 over mean 3.
    expect(Array.from(itemFrequencyWeights(data, 3, 1, Float32Array.from([1, 1, 0]))!)).toEqual([4 / 3, 2 / 3, 0].map((x) => expect.closeTo(x, 6)));
    expect(() => itemFrequencyWeights(data, 3, Number.NaN)).toThrow(RangeError);

    await useNodeBackend('wasm');
    const { data: topics, model } = synthetic();
    const counts = new Array<number>(20).fill(0);
    for (const item of topics.items) counts[item]!++;
    const seen = counts
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => c > 0)
      .sort((a, b) => a.c - b.c);
    const [rarest, commonest] = [seen[0]!.i, seen.at(-1)!.i];
    const rowNorm = (q: Float32Array, i: number) => Math.hypot(...q.subarray(i * 4, i * 4 + 4));
    const ratio = async (power: number) => {
      const m = model();
      await trainSoftmax(m, topics, { ...options, l2: 0.05, l2FrequencyPower: power });
      return rowNorm(m.q, commonest) / rowNorm(m.q, rarest);
    };
    const uniformRatio = await ratio(0);
    expect(await ratio(2)).toBeLessThan(uniformRatio);
    expect(await ratio(-2)).toBeGreaterThan(uniformRatio);
  });

  it('stops when aborted, reporting the epochs done and leaving the model untouched', async () => {
    await useNodeBackend('cpu');
    const { data, model } = synthetic();
    const m = model();
    const [W, q, b] = [Float32Array.from(m.W), Float32Array.from(m.q), Float32Array.from(m.b)];
    const controller = new AbortController();
    const epochs: number[] = [];
    const tensorsBefore = tf.memory().numTensors;
    await expect(
      trainSoftmax(m, data, {
        ...options,
        signal: controller.signal,
        onEpoch: ({ epoch }) => {
          epochs.push(epoch);
          if (epoch === 3) controller.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    expect(epochs).toEqual([1, 2, 3]);
    expect(m.W).toEqual(W);
    expect(m.q).toEqual(q);
    expect(m.b).toEqual(b);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it("resumes on the fallback backend after a failure: the uninterrupted run's result", async () => {
    await useNodeBackend('cpu');
    const { data, model } = synthetic();
    const clean = model();
    const expected = await trainSoftmax(clean, data, options);
    const m = model();
    // Some epochs in.
    const { result, failures } = await trainThroughFailure(2000, (onBackendFailure) => trainSoftmax(m, data, { ...options, onBackendFailure }));
    expect(failures).toHaveLength(1);
    expect(failures[0]!.completedEpochs).toBeGreaterThan(0);
    expect(failures[0]!.completedEpochs).toBeLessThan(20);
    expect(maxDiff(result.losses, expected.losses)).toBeLessThan(1e-6);
    expect(maxDiff(result.userVectors, expected.userVectors)).toBeLessThan(1e-6);
    expect(maxDiff(m.W, clean.W)).toBeLessThan(1e-6);
    expect(maxDiff(m.q, clean.q)).toBeLessThan(1e-6);
  });
});
