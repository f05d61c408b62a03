import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { IndexedDbStore } from '../storage/db';
import { PersonalModel } from './personal-model';

/** The model's own top 5 of its `n` items: no popularity, recency, profile, query or diversity. */
function topFive(model: PersonalModel, n: number) {
  return model.rank({
    k: 5,
    exclude: new Set(),
    popularity: new Float32Array(n),
    recency: new Float32Array(n),
    profile: null,
    texts: [],
    anchors: [],
    titles: [],
    diversity: 0,
  });
}

describe('PersonalModel.onEvent', () => {
  it('returns an undo that restores u, the touched q and b rows, and the step count exactly', async () => {
    const storage = await IndexedDbStore.open(`personal-undo-${Date.now()}`);
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

describe('PersonalModel kept item projections', () => {
  const n = 30;
  const dimension = 8;
  const embeddings = Float32Array.from({ length: n * dimension }, (_, i) => Math.cos(i * 0.9));
  const open = (storage: IndexedDbStore, projectionsKey: string | undefined) =>
    PersonalModel.open({
      storage,
      encoderId: 'test',
      itemIds: Array.from({ length: n }, (_, i) => `i${i}`),
      embeddings,
      embeddingDim: dimension,
      catalogFingerprint: 'fp',
      projectionsKey,
    });
  const rank = (model: PersonalModel) => topFive(model, n).map((item) => item.index);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20)); // the write is deferred a task

  it('keeps W·e_i for the next visit under a key naming the embeddings and W, and computes them again for anything else', async () => {
    const storage = await IndexedDbStore.open(`personal-projections-${Date.now()}`);
    const first = (await open(storage, 'embeddings-a')).model;
    first.onEvent('like', 3, { skipped: [4], recentPositives: [], randomUnseen: [5] });
    await first.saveAll();
    await first.prepareItemVectors(async () => undefined);
    const feed = rank(first);
    await settle();
    const kept = (await storage.listWeights()).find((weight) => weight.name === 'cache/projections');
    expect(kept?.key).toContain('embeddings-a');

    const again = await open(storage, 'embeddings-a');
    expect(again.restored).toBe(true);
    expect(again.model.itemVectorsReady).toBe(true);
    expect(rank(again.model)).toEqual(feed);
    expect(Array.from(again.model.model.itemVectors())).toEqual(Array.from(first.model.itemVectors()));

    // Other embeddings, or none complete: computed again.
    expect((await open(storage, 'embeddings-b')).model.itemVectorsReady).toBe(false);
    expect((await open(storage, undefined)).model.itemVectorsReady).toBe(false);
    // Another W under the same embeddings (a stored model changed elsewhere): computed again.
    const weights = await storage.listWeights();
    const W = weights.find((weight) => weight.name === 'local/W')!;
    await storage.putWeights([{ ...W, values: W.values.map((x) => x + 0.5) }]);
    expect((await open(storage, 'embeddings-a')).model.itemVectorsReady).toBe(false);
    storage.close();
  });

  it('stores nothing while the embeddings are incomplete, and stores them once the key arrives', async () => {
    const storage = await IndexedDbStore.open(`personal-projections-late-${Date.now()}`);
    const { model } = await open(storage, undefined);
    await model.prepareItemVectors(async () => undefined);
    rank(model);
    await settle();
    expect((await storage.listWeights()).some((weight) => weight.name === 'cache/projections')).toBe(false);
    model.setProjectionsKey('embeddings-complete');
    await settle();
    expect((await open(storage, 'embeddings-complete')).model.itemVectorsReady).toBe(true);
    storage.close();
  });
});

describe('PersonalModel.open with a damaged taste vector', () => {
  const n = 30;
  const dimension = 8;
  const embeddings = Float32Array.from({ length: n * dimension }, (_, i) => Math.sin(i * 0.7));
  const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);
  const rank = (model: PersonalModel) => topFive(model, n);

  it('refuses a stored u of NaN (or beyond the bound) with a problem, and starts a model that ranks', async () => {
    const name = `personal-nan-u-${Date.now()}`;
    const storage = await IndexedDbStore.open(name);
    const first = (await PersonalModel.open({ storage, encoderId: 'test', itemIds, embeddings, embeddingDim: dimension, catalogFingerprint: 'fp' })).model;
    first.onEvent('like', 3, { skipped: [4], recentPositives: [], randomUnseen: [5] });
    await first.saveAll();
    const weights = await storage.listWeights();
    const settings = await storage.getSettings();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 3e38]) {
      const damaged = weights.map((w) => (w.name === 'user/u' ? { ...w, values: new Float32Array(w.values.length).fill(bad) } : w));
      const opened = await PersonalModel.open({
        storage,
        encoderId: 'test',
        itemIds,
        embeddings,
        embeddingDim: dimension,
        catalogFingerprint: 'fp',
        stored: { weights: Promise.resolve(damaged), settings },
      });
      expect(opened.restored).toBe(false);
      expect(opened.problem).toMatch(/your taste vector u has (a non-finite value|a value \(.*\) beyond ±10000)/);
      expect(rank(opened.model)).toHaveLength(5);
    }
    // Read back from the database: a NaN u is skipped there, and its absence beside the shared parameters is the problem.
    const raw = await openDB(name);
    const stored = await raw.get('weights', 'user/u');
    await raw.put('weights', { ...stored, values: new Float32Array(stored.values.length).fill(Number.NaN) });
    raw.close();
    const reopened = await PersonalModel.open({ storage, encoderId: 'test', itemIds, embeddings, embeddingDim: dimension, catalogFingerprint: 'fp' });
    expect(reopened.problem).toBe('your taste vector u is missing or damaged');
    expect(rank(reopened.model)).toHaveLength(5);
    storage.close();
  });
});
