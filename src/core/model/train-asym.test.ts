import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../../cli/data/tf-node';
import { maxDiff, trainThroughFailure } from './testing/flaky-backend';
import { twoTopicTraining } from './testing/two-topics';
import { encodeUser, trainSoftmax, userFromHistory } from './train';

/** The asymmetric model: trainSoftmax with `userFromHistory` (u computed from the user's items). */
const options = { epochs: 20, batchSize: 5, learningRate: 0.05, l2: 1e-3, seed: 1, subspace: 8, userFromHistory: { alpha: 0.5, dropout: 0.3 } };
const pool = Int32Array.from({ length: 16 }, (_, i) => i); // items 16–19 held out

describe('userFromHistory', () => {
  it('is (Σ w)^−α · Σ w·y_j, skipping non-positive weights, zero for no history', () => {
    // d = 2, three items.
    const y = Float32Array.from([1, 0, 0, 2, 3, 3]);
    const u = userFromHistory(y, 2, [0, 1, 2], [1, 3, 0], 0.5);
    // (1·[1,0] + 3·[0,2]) / √4 = [0.5, 3]
    expect(Array.from(u)).toEqual([0.5, 3]);
    expect(Array.from(userFromHistory(y, 2, [0, 0], [1, 1], 1))).toEqual([1, 0]); // a mean
    expect(Array.from(userFromHistory(y, 2, [], [], 0.5))).toEqual([0, 0]);
  });
});

describe('trainSoftmax with userFromHistory (asymmetric model)', () => {
  afterAll(async () => useNodeBackend('cpu'));

  it('lowers the loss, learns the topics, and its user vectors are the formula over the training history', async () => {
    await useNodeBackend('wasm');
    const { data, model } = twoTopicTraining();
    const m = model();
    const tensorsBefore = tf.memory().numTensors;
    const result = await trainSoftmax(m, { ...data, negativePool: pool }, { ...options, userFromHistory: { alpha: 0.5, dropout: 0 } });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(result.losses).toHaveLength(20);
    // 2.20 → 1.86; the text starts it well above log(16) = 2.77 and the floor (each user uniform over their ~6 items) is ~1.75.
    expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]! - 0.25);
    const history = result.historyEncoder!;
    const [d, D] = [m.factors, m.embeddingDim];
    // y_j = W'·e_j + p_j
    for (const item of [0, 7, 18]) {
      for (let f = 0; f < d; f++) {
        let sum = history.p[item * d + f]!;
        for (let t = 0; t < D; t++) sum += history.W[f * D + t]! * m.embeddings[item * D + t]!;
        expect(history.vectors[item * d + f]).toBeCloseTo(sum, 5);
      }
    }
    // u = (Σ w)^−α Σ w·y_j over each user's training items
    for (let u = 0; u < 12; u++) {
      const items = Array.from(data.items).filter((_, k) => data.users[k] === u);
      const expected = userFromHistory(
        history.vectors,
        d,
        items,
        items.map(() => 1),
        0.5,
      );
      expect(maxDiff(result.userVectors.subarray(u * d, (u + 1) * d), expected)).toBeLessThan(1e-6);
    }
    // Held-out items: q and p untouched (zero); the text ranks them, each user's topic first.
    for (const item of [16, 17, 18, 19]) {
      expect(Array.from(m.q.subarray(item * d, (item + 1) * d))).toEqual([0, 0, 0, 0]);
      expect(Array.from(history.p.subarray(item * d, (item + 1) * d))).toEqual([0, 0, 0, 0]);
    }
    let right = 0;
    for (let u = 0; u < 12; u++) {
      const user = result.userVectors.subarray(u * d, (u + 1) * d);
      const [own, other] = u % 2 === 0 ? [18, 19] : [19, 18];
      if (m.score(user, own) > m.score(user, other)) right++;
    }
    expect(right).toBe(12);
    // And the seen items: each user's own topic above the other.
    for (let u = 0; u < 12; u++) {
      const user = result.userVectors.subarray(u * d, (u + 1) * d);
      expect(m.score(user, u % 2)).toBeGreaterThan(m.score(user, 1 - (u % 2)));
    }
  });

  it('is deterministic for a seed (input dropout included) and resumes after a backend failure with the uninterrupted result', async () => {
    await useNodeBackend('cpu');
    const { data, model } = twoTopicTraining();
    const clean = model();
    const expected = await trainSoftmax(clean, data, options);
    const again = await trainSoftmax(model(), data, options);
    expect(again.losses).toEqual(expected.losses);
    const other = await trainSoftmax(model(), data, { ...options, seed: 2 });
    expect(maxDiff(other.losses, expected.losses)).toBeGreaterThan(1e-6);
    const m = model();
    const { result, failures } = await trainThroughFailure(2000, (onBackendFailure) => trainSoftmax(m, data, { ...options, onBackendFailure }));
    expect(failures).toHaveLength(1);
    expect(maxDiff(result.losses, expected.losses)).toBeLessThan(1e-6);
    expect(maxDiff(result.userVectors, expected.userVectors)).toBeLessThan(1e-6);
    expect(maxDiff(result.historyEncoder!.vectors, expected.historyEncoder!.vectors)).toBeLessThan(1e-6);
    expect(maxDiff(m.q, clean.q)).toBeLessThan(1e-6);
  });

  it('with free user vectors adds them to the encoded part (u = u_free + formula), both trained', async () => {
    await useNodeBackend('cpu');
    const { data, model } = twoTopicTraining();
    const m = model();
    const result = await trainSoftmax(m, data, { ...options, userFromHistory: { alpha: 1, dropout: 0, free: true } });
    const { free, vectors } = result.historyEncoder!;
    expect(free).toBeDefined();
    expect(maxDiff(free!, new Float32Array(free!.length))).toBeGreaterThan(1e-2);
    expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]! - 0.25);
    for (let u = 0; u < 12; u++) {
      const items = Array.from(data.items).filter((_, k) => data.users[k] === u);
      const encoded = userFromHistory(
        vectors,
        4,
        items,
        items.map(() => 1),
        1,
      );
      const expected = encoded.map((x, f) => x + free![u * 4 + f]!);
      expect(maxDiff(result.userVectors.subarray(u * 4, u * 4 + 4), expected)).toBeLessThan(1e-6);
    }
  });

  it('encodes u with inputWeights when given (the targets keep weights)', async () => {
    await useNodeBackend('cpu');
    const { data, model } = twoTopicTraining();
    // Later interactions of a user weigh more in its input.
    const inputWeights = Float32Array.from(data.users, (_, k) => 1 + (k % 3));
    const result = await trainSoftmax(model(), { ...data, inputWeights }, { ...options, epochs: 5 });
    for (let u = 0; u < 12; u++) {
      const rows = Array.from(data.users, (_, k) => k).filter((k) => data.users[k] === u);
      const expected = userFromHistory(
        result.historyEncoder!.vectors,
        4,
        rows.map((k) => data.items[k]!),
        rows.map((k) => inputWeights[k]!),
        0.5,
      );
      expect(maxDiff(result.userVectors.subarray(u * 4, u * 4 + 4), expected)).toBeLessThan(1e-6);
    }
    const plain = await trainSoftmax(model(), data, { ...options, epochs: 5 });
    expect(maxDiff(plain.userVectors, result.userVectors)).toBeGreaterThan(1e-3);
  });

  it("with a hidden layer: u = M·tanh(formula over y + c), W' in the subspace, learns the topics, resumes after a failure", async () => {
    await useNodeBackend('cpu');
    const { data, model } = twoTopicTraining();
    const hiddenOptions = { ...options, epochs: 30, userFromHistory: { alpha: 1, dropout: 0.2, hidden: 6 } };
    const m = model();
    const result = await trainSoftmax(m, { ...data, negativePool: pool }, hiddenOptions);
    expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]! - 0.25);
    const history = result.historyEncoder!;
    const [d, D, H] = [m.factors, m.embeddingDim, 6];
    expect(history.hidden!.size).toBe(H);
    expect(history.W).toHaveLength(H * D);
    expect(history.p).toHaveLength(20 * H);
    expect(history.hidden!.M).toHaveLength(d * H);
    // y_j = W'·e_j + p_j (H components)
    for (const item of [0, 7, 18]) {
      for (let f = 0; f < H; f++) {
        let sum = history.p[item * H + f]!;
        for (let t = 0; t < D; t++) sum += history.W[f * D + t]! * m.embeddings[item * D + t]!;
        expect(history.vectors[item * H + f]).toBeCloseTo(sum, 5);
      }
    }
    // u = M·tanh(mean_j y_j + c), written out here
    const { M, c } = history.hidden!;
    for (let u = 0; u < 12; u++) {
      const items = Array.from(data.items).filter((_, k) => data.users[k] === u);
      const mean = userFromHistory(
        history.vectors,
        H,
        items,
        items.map(() => 1),
        1,
      );
      const h = Array.from(mean, (x, j) => Math.tanh(x + c[j]!));
      const expected = Array.from({ length: d }, (_, f) => h.reduce((sum, x, j) => sum + M[f * H + j]! * x, 0));
      expect(maxDiff(result.userVectors.subarray(u * d, (u + 1) * d), Float32Array.from(expected))).toBeLessThan(1e-5);
      expect(
        maxDiff(
          encodeUser(
            history,
            d,
            items,
            items.map(() => 1),
          ),
          Float32Array.from(expected),
        ),
      ).toBeLessThan(1e-5);
    }
    // Held-out items: p untouched; each user's own topic ranks first among the held-out items.
    for (const item of [16, 17, 18, 19]) expect(Array.from(history.p.subarray(item * H, (item + 1) * H))).toEqual(new Array(H).fill(0));
    let right = 0;
    for (let u = 0; u < 12; u++) {
      const user = result.userVectors.subarray(u * d, (u + 1) * d);
      const [own, other] = u % 2 === 0 ? [18, 19] : [19, 18];
      if (m.score(user, own) > m.score(user, other)) right++;
    }
    expect(right).toBeGreaterThanOrEqual(11);
    // Deterministic, and a backend failure mid-way resumes to the same result.
    const expected = await trainSoftmax(model(), data, hiddenOptions);
    const { result: resumed, failures } = await trainThroughFailure(2000, (onBackendFailure) =>
      trainSoftmax(model(), data, { ...hiddenOptions, onBackendFailure }),
    );
    expect(failures).toHaveLength(1);
    expect(maxDiff(resumed.losses, expected.losses)).toBeLessThan(1e-6);
    expect(maxDiff(resumed.userVectors, expected.userVectors)).toBeLessThan(1e-6);
    expect(maxDiff(resumed.historyEncoder!.hidden!.M, expected.historyEncoder!.hidden!.M)).toBeLessThan(1e-6);
  });

  it('with a cosine schedule: the first epoch at the full rate, then lower; resumes after a failure with the same rates', async () => {
    await useNodeBackend('cpu');
    const { data, model } = twoTopicTraining();
    const constant = await trainSoftmax(model(), data, options);
    const cosine = await trainSoftmax(model(), data, { ...options, schedule: 'cosine' });
    expect(cosine.losses[0]).toBe(constant.losses[0]); // epoch 0 runs at learningRate · (1 + cos 0) / 2 = learningRate
    expect(maxDiff(cosine.losses.slice(1), constant.losses.slice(1))).toBeGreaterThan(1e-6);
    expect(cosine.losses.at(-1)!).toBeLessThan(cosine.losses[0]! - 0.25);
    const { result, failures } = await trainThroughFailure(2000, (onBackendFailure) =>
      trainSoftmax(model(), data, { ...options, schedule: 'cosine', onBackendFailure }),
    );
    expect(failures).toHaveLength(1);
    expect(maxDiff(result.losses, cosine.losses)).toBeLessThan(1e-6);
    expect(maxDiff(result.userVectors, cosine.userVectors)).toBeLessThan(1e-6);
  });

  it('with keptTargetWeight 0 trains on the dropped items only: still learns the topics; 1 is the default', async () => {
    await useNodeBackend('cpu');
    const { data, model } = twoTopicTraining();
    const withDropout = { ...options, userFromHistory: { alpha: 1, dropout: 0.5 } };
    const all = await trainSoftmax(model(), data, withDropout);
    const explicitOne = await trainSoftmax(model(), data, { ...withDropout, userFromHistory: { ...withDropout.userFromHistory, keptTargetWeight: 1 } });
    expect(explicitOne.losses).toEqual(all.losses);
    const m = model();
    const dropped = await trainSoftmax(
      m,
      { ...data, negativePool: pool },
      { ...withDropout, userFromHistory: { ...withDropout.userFromHistory, keptTargetWeight: 0 } },
    );
    expect(maxDiff(dropped.losses, all.losses)).toBeGreaterThan(1e-3);
    expect(dropped.losses.at(-1)!).toBeLessThan(dropped.losses[0]! - 0.1);
    // Predicting only items the input did not show: every user still ranks its own topic's held-out item first.
    let right = 0;
    for (let u = 0; u < 12; u++) {
      const user = dropped.userVectors.subarray(u * 4, u * 4 + 4);
      const [own, other] = u % 2 === 0 ? [18, 19] : [19, 18];
      if (m.score(user, own) > m.score(user, other)) right++;
    }
    expect(right).toBe(12);
  });

  it('rejects a keptTargetWeight outside [0, 1], and 0 without dropout (no item would be a target)', async () => {
    const { data, model } = twoTopicTraining();
    await expect(trainSoftmax(model(), data, { ...options, userFromHistory: { dropout: 0.5, keptTargetWeight: 1.5 } })).rejects.toThrow(/keptTargetWeight/);
    await expect(trainSoftmax(model(), data, { ...options, userFromHistory: { dropout: 0, keptTargetWeight: 0 } })).rejects.toThrow(/keptTargetWeight/);
  });

  it('rejects a hidden layer without a trained projection', async () => {
    const { data, model } = twoTopicTraining();
    await expect(trainSoftmax(model(), data, { ...options, trainProjection: false, userFromHistory: { hidden: 4 } })).rejects.toThrow(/hidden/);
  });

  it('rejects a dropout outside [0, 1)', async () => {
    const { data, model } = twoTopicTraining();
    await expect(trainSoftmax(model(), data, { ...options, userFromHistory: { dropout: 1 } })).rejects.toThrow(/dropout/);
  });
});
