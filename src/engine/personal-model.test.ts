import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { Storage } from '../storage/db';
import { changedRows, PersonalModel } from './personal-model';

describe('changedRows', () => {
  it('finds exactly the rows where any value moved', () => {
    const before = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    const after = Float32Array.from([0, 0, 1, 1.5, 2, 2, 3.25, 3]);
    expect(changedRows(before, after, 2)).toEqual([1, 3]);
    expect(changedRows(before, Float32Array.from(before), 2)).toEqual([]);
  });
});

describe('PersonalModel.onEvent', () => {
  it('returns an undo that restores u, the touched q and b rows, and the step count exactly', async () => {
    const storage = await Storage.open(`personal-undo-${Date.now()}`);
    const n = 40;
    const dimension = 8;
    const embeddings = Float32Array.from({ length: n * dimension }, (_, i) => Math.sin(i * 1.7));
    const { model } = await PersonalModel.open({
      storage,
      encoderId: 'test',
      itemIds: Array.from({ length: n }, (_, i) => `i${i}`),
      embeddings,
      embeddingDim: dimension,
      catalogFingerprint: 'fp',
    });
    model.onEvent('like', 1, { skipped: [2, 3], recentPositives: [], randomUnseen: [4, 5] });
    const stored = async () => {
      await model.saveAll();
      return (await storage.listWeights()).map(({ name, values }) => ({ name, values: Array.from(values) }));
    };
    const before = { weights: await stored(), steps: model.status().onlineSteps };
    const undo = model.onEvent('like', 6, { skipped: [2, 7], recentPositives: [1], randomUnseen: [8, 9] });
    expect(await stored()).not.toEqual(before.weights);
    undo();
    expect(await stored()).toEqual(before.weights);
    expect(model.status().onlineSteps).toBe(before.steps);
    storage.close();
  });
});
