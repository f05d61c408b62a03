/**
 * The engine with its on-device model (split from engine.test.ts): start, online and fine-tune learning,
 * restore, export, import of a global model, backend handover, and unlearning deleted history.
 */
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { flakyBackend } from '../core/model/testing/flaky-backend';
import { USER_SOFTMAX_DEFAULTS } from '../core/model/fine-tune-user';
import { IndexedDbStore } from '../storage/db';
import { startTestEngine, WordCountEncoder, type TestItem } from './testing/harness';
import { englishWarnings } from './testing/warnings';

describe('Engine with the on-device model', () => {
  const words = { f: ['dragon', 'magic', 'wizard'], s: ['space', 'robot', 'planet'], o: ['love', 'romance', 'history'] } as const;
  // Ten books per topic, titled with two of its three words, in different combinations.
  const items: TestItem[] = (Object.keys(words) as (keyof typeof words)[]).flatMap((topic, t) =>
    Array.from({ length: 10 }, (_, i) => ({
      id: `${topic}${i}`,
      title: `${words[topic][i % 3]} ${words[topic][(i + 1 + Math.floor(i / 3)) % 3]} ${i}`,
      popularity: 10 * (t + 1) + i,
    })),
  );
  const topicCount = (ids: string[], topic: string) => ids.filter((id) => id.startsWith(topic)).length;
  it('starts the model, learns from likes online and by fine-tuning, restores it on reload, and exports only noised shared parameters', async () => {
    const databaseName = `model-${Date.now()}`;
    const harness = await startTestEngine(items, { feedSize: 4, databaseName });
    await harness.until((s) => s.training !== undefined && s.embedding?.active === false);
    for (const id of ['f0', 'f1', 'f2']) await harness.engine.record('like', id);
    expect(harness.latest().training!.onlineSteps).toBe(3);
    // Three likes trigger a fine-tune over the history once idle (TF.js on the Node backend).
    const trained = await harness.until((s) => (s.training?.losses.length ?? 0) > 0 && !s.training?.progress, 20_000);
    expect(trained.training!.losses.every(Number.isFinite)).toBe(true);
    // The learning shows: the loss fell, and the unliked fantasy books fill the top of the feed.
    const losses = trained.training!.losses;
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    expect(
      topicCount(
        trained.feed.map((f) => f.id),
        'f',
      ),
    ).toBeGreaterThanOrEqual(3);
    const feedAfterTraining = trained.feed.map((f) => f.id);

    // The update file: shared parameters only, every coordinate noised, ε recorded.
    const plan = await harness.engine.planModelUpdate();
    expect(plan).toMatchObject({ ready: true, allowed: true, epsilonSpent: 0 });
    const { bytes, epsilonSpent } = await harness.engine.exportModelUpdate();
    expect(epsilonSpent).toBeCloseTo(plan.epsilonAfter, 10);
    const { decodeModelFile } = await import('../core/federated/format');
    const file = await decodeModelFile(bytes);
    expect(Object.keys(file.params).sort()).toEqual(['W', 'b', 'q', 'ranker/bias', 'ranker/weights']);
    expect((await harness.engine.planModelUpdate()).epsilonSpent).toBeCloseTo(epsilonSpent, 10);

    // A reload (a new engine on the same database) restores the trained model and feed.
    const reloaded = await startTestEngine(items, { feedSize: 4, databaseName });
    const restored = await reloaded.until((s) => s.training !== undefined && s.embedding?.active === false);
    expect(restored.training!.losses).toEqual(trained.training!.losses);
    expect(restored.feed.map((f) => f.id)).toEqual(feedAfterTraining);
  }, 30_000);

  it('a returning visit ranks with its stored model at once and starts the compute backend only when the likes pause', async () => {
    const databaseName = `returning-${Date.now()}`;
    const first = await startTestEngine(items, { feedSize: 4, databaseName });
    await first.until((s) => s.training !== undefined && s.embedding?.active === false);
    for (const id of ['f0', 'f1', 'f2']) await first.engine.record('like', id);
    await first.until((s) => (s.training?.losses.length ?? 0) > 0 && !s.training?.progress, 20_000);

    let backendAsked: number | undefined;
    const returning = await startTestEngine(items, {
      feedSize: 4,
      databaseName,
      waitForStart: false,
      overrides: {
        selectBackend: async () => {
          backendAsked = performance.now();
          return { name: 'cpu', label: 'CPU', skipped: [] };
        },
      },
    });
    // The stored model ranks (and learns online) before any ML runtime has started.
    await returning.until((s) => s.training !== undefined);
    expect(returning.latest().backend).toBeUndefined();
    // It ranks the very first feed (its item projections were kept by the first visit), so the feed
    // does not reorder itself once the model has opened.
    await returning.until((s) => s.phase === 'ready');
    const firstFeed = returning.snapshots.find((s) => s.phase === 'ready')!;
    expect(firstFeed.training).toBeDefined();
    expect(returning.latest().feed.map((f) => f.id)).toEqual(firstFeed.feed.map((f) => f.id));
    let lastLike = 0;
    // Two likes: not enough to start a fine-tune that would outlive this test.
    for (const id of ['s0', 's1']) {
      await returning.engine.record('like', id);
      lastLike = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(backendAsked).toBeUndefined();
    expect(returning.latest().training!.onlineSteps).toBe(2);
    await returning.started;
    // Started at the first pause of 500 ms (timers may fire a little early or late).
    expect(backendAsked! - lastLike).toBeGreaterThanOrEqual(450);
    expect(returning.latest().backend?.name).toBe('cpu');
  }, 30_000);

  it('imports a global model for this catalog, keeps the history, and refuses a mismatched one', async () => {
    const databaseName = `import-${Date.now()}`;
    const harness = await startTestEngine(items, { feedSize: 4, databaseName });
    await harness.until((s) => s.training !== undefined && s.embedding?.active === false);
    await harness.engine.record('like', 's0');
    const before = harness.latest().feed.map((f) => f.id);
    const { encodeModelFile } = await import('../core/federated/format');
    const { bytes } = await harness.engine.exportModelUpdate();
    const { decodeModelFile } = await import('../core/federated/format');
    const { header } = await decodeModelFile(bytes);
    // A "global model": the device's own starting point (from its data export) with item biases that
    // push the romance and history books up.
    const exported = JSON.parse(await harness.engine.exportData()) as { weights: { name: string; shape: number[]; values: number[] }[] };
    // The kept item projections are a cache derived from the catalog: stored, never exported.
    const storage = await IndexedDbStore.open(databaseName);
    expect((await storage.listWeights()).some((w) => w.name.startsWith('cache/'))).toBe(true);
    storage.close();
    expect(exported.weights.some((w) => w.name.startsWith('cache/'))).toBe(false);
    const params = Object.fromEntries(
      exported.weights
        .filter((w) => w.name.startsWith('global/'))
        .map((w) => [w.name.slice('global/'.length), { shape: w.shape, values: Float32Array.from(w.values) }]),
    );
    const b = params.b!;
    const boosted = { ...params, b: { shape: b.shape, values: Float32Array.from(items, (item) => (item.id.startsWith('o') ? 5 : 0)) } };
    const global = await encodeModelFile({ kind: 'global', modelId: header.modelId, catalogFingerprint: header.catalogFingerprint, contributors: 12 }, boosted);
    expect(await harness.engine.importGlobalModel(global, 'global.prfed')).toEqual({ contributors: 12 });
    expect(
      topicCount(
        harness.latest().feed.map((f) => f.id),
        'o',
      ),
    ).toBeGreaterThan(topicCount(before, 'o'));
    expect(harness.latest().training!.globalSource).toBe('imported from “global.prfed”');
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['s0']);

    const other = await encodeModelFile({ kind: 'global', modelId: header.modelId, catalogFingerprint: 'another-catalog' }, boosted);
    const feedBefore = harness.latest().feed;
    await expect(harness.engine.importGlobalModel(other, 'other.prfed')).rejects.toThrow(/another catalog/);
    const poisoned = { ...boosted, q: { shape: params.q!.shape, values: params.q!.values.map((v, i) => (i === 0 ? Number.NaN : v)) } };
    await expect(encodeModelFile({ kind: 'global', modelId: header.modelId, catalogFingerprint: header.catalogFingerprint }, poisoned)).rejects.toThrow(
      /non-finite/,
    );
    expect(harness.latest().feed).toEqual(feedBefore);
  }, 30_000);

  it('a backend that fails mid fine-tune hands over to the next: training resumes, the status and warnings say so, the encoder is reloaded there', async () => {
    // "WebGPU" here is TF.js's cpu kernels under another name, made to throw as a lost device does.
    const flaky = flakyBackend();
    let encoderLoads = 0;
    const harness = await startTestEngine(items, {
      feedSize: 4,
      overrides: {
        selectBackend: async () => {
          await tf.setBackend(flaky.name);
          return { name: 'webgpu', label: 'WebGPU', skipped: [] };
        },
        fallBackFrom: async (current, cause) => {
          await tf.setBackend('cpu');
          return { name: 'wasm', label: 'WASM', skipped: [{ name: current, reason: cause }] };
        },
        loadEncoder: async () => (encoderLoads++, new WordCountEncoder()),
      },
    });
    try {
      await harness.until((s) => s.training !== undefined && s.embedding?.active === false);
      expect(harness.latest().backend!.label).toBe('WebGPU');
      expect(encoderLoads).toBe(1);
      flaky.failAfter(400); // a few epochs into the fine-tune the three likes start
      for (const id of ['f0', 'f1', 'f2']) await harness.engine.record('like', id);
      const trained = await harness.until((s) => (s.training?.losses.length ?? 0) > 0 && !s.training?.progress, 20_000);
      expect(flaky.failures).toBeGreaterThan(0);
      expect(tf.getBackend()).toBe('cpu');
      expect(trained.backend).toEqual({ name: 'wasm', label: 'WASM', skipped: [{ name: 'webgpu', reason: 'device lost (injected)' }] });
      expect(englishWarnings(trained)).toContainEqual(
        expect.stringMatching(
          /^WebGPU failed while training on your history \(device lost \(injected\)\); continuing on WASM, keeping the [1-9]\d* epochs? already done\.$/,
        ),
      );
      expect(englishWarnings(trained).join(' ')).not.toMatch(/Training on your history stopped/);
      // Every epoch ran and learned: the loss fell and the fantasy books lead.
      const losses = trained.training!.losses;
      expect(losses).toHaveLength(USER_SOFTMAX_DEFAULTS.epochs);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1)!).toBeLessThan(losses[0]!);
      expect(
        topicCount(
          trained.feed.map((f) => f.id),
          'f',
        ),
      ).toBeGreaterThanOrEqual(3);
      // The encoder's weights lived on the failed backend: the next search loads it again on the new one.
      await harness.engine.setQuery('dragon');
      expect(encoderLoads).toBe(2);
      expect(harness.latest().queryError).toBeUndefined();
    } finally {
      flaky.heal();
      await tf.setBackend('cpu');
    }
  }, 30_000);
});

describe('Engine: deleting history also unlearns it', () => {
  it('after deleting every event, the model has nothing left to share', async () => {
    const items: TestItem[] = Array.from({ length: 12 }, (_, i) => ({
      id: `i${i}`,
      title: `${['dragon', 'space', 'love'][i % 3]} ${['magic', 'robot', 'romance'][i % 3]} ${i}`,
      popularity: i,
    }));
    const harness = await startTestEngine(items, { feedSize: 4 });
    await harness.until((s) => s.training !== undefined && s.embedding?.active === false);
    await harness.engine.record('like', 'i0');
    expect((await harness.engine.planModelUpdate()).ready).toBe(true);
    await harness.engine.deleteEventsBetween(0, Date.now() + 1000);
    expect(await harness.engine.history()).toEqual([]);
    const plan = await harness.engine.planModelUpdate();
    expect(plan.ready).toBe(false);
    expect(plan.reason).toMatch(/Nothing to share yet/);
  });
});
