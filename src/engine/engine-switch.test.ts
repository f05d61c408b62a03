import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { SentenceEncoder } from '../core/encoder';
import { encoderOption, PaddedWordEncoder, startTestEngine, WordCountEncoder, type TestItem } from './testing/harness';
import type { EngineDeps } from './engine';

const words = { f: ['dragon', 'magic', 'wizard'], s: ['space', 'robot', 'planet'], o: ['love', 'romance', 'history'] } as const;
/** Ten books per topic, titled with two of its three words. */
const items: TestItem[] = (Object.keys(words) as (keyof typeof words)[]).flatMap((topic, t) =>
  Array.from({ length: 10 }, (_, i) => ({
    id: `${topic}${i}`,
    title: `${words[topic][i % 3]} ${words[topic][(i + 1 + Math.floor(i / 3)) % 3]} ${i}`,
    popularity: 10 * (t + 1) + i,
  })),
);

/** Counts what each model embeds, so a test can tell cached vectors from recomputed ones. */
class CountingEncoder implements SentenceEncoder {
  texts = 0;
  constructor(readonly inner: SentenceEncoder) {}
  get id() {
    return this.inner.id;
  }
  get dimension() {
    return this.inner.dimension;
  }
  embedBatch(texts: readonly string[]) {
    this.texts += texts.length;
    return this.inner.embedBatch(texts);
  }
}

/** The default word-count model (11-d) and a "wide" one (11 + 21 = 32-d): two spaces that must not mix. */
function twoModels(wide: SentenceEncoder = new PaddedWordEncoder('wide-test', 21), extra: Partial<EngineDeps> = {}) {
  const narrow = new CountingEncoder(new WordCountEncoder());
  let narrowLoads = 0;
  const overrides: Partial<EngineDeps> = {
    loadEncoder: async () => {
      narrowLoads++;
      return narrow;
    },
    listEncoders: async () => [
      encoderOption(narrow, { bundled: true, label: 'Word counts' }),
      encoderOption(wide, { label: 'Wide words', downloadBytes: 1000 }),
      encoderOption(new PaddedWordEncoder('broken-test', 5), { label: 'Broken model', downloadBytes: 10 }),
    ],
    loadEncoderById: async (id, _url, events) => {
      if (id === 'broken-test') throw new Error('Could not load broken-test/onnx/model_quantized.onnx on wasm: HTTP 404');
      events.onProgress({ file: 'onnx/model_quantized.onnx', loaded: 500, total: 1000 });
      events.onProgress({ file: 'onnx/model_quantized.onnx', loaded: 1000, total: 1000 });
      return wide;
    },
    ...extra,
  };
  return { narrow, wide, overrides, narrowLoads: () => narrowLoads };
}

const ready = (s: { training?: unknown; embedding?: { active: boolean } }) => s.training !== undefined && s.embedding?.active === false;

describe('Engine: switching the text model', () => {
  it('puts the model it switched away from on stand-by (one copy), and resumes it on the way back', async () => {
    const calls: string[] = [];
    class PooledCounting extends CountingEncoder {
      standBy() {
        calls.push(`standBy ${this.id}`);
      }
      resume() {
        calls.push(`resume ${this.id}`);
      }
    }
    const wide = new PooledCounting(new PaddedWordEncoder('wide-test', 21));
    const narrow = new PooledCounting(new WordCountEncoder());
    const models = twoModels(wide, { loadEncoder: async () => narrow });
    const harness = await startTestEngine(items, { feedSize: 4, modelsUrl: '/models/', overrides: models.overrides });
    await harness.until(ready);
    await harness.engine.setEncoder('wide-test');
    await harness.until((s) => s.encoder?.id === 'wide-test' && ready(s));
    expect(calls).toEqual(['standBy word-count-test', 'resume wide-test']);
    await harness.engine.setEncoder('word-count-test');
    await harness.until((s) => s.encoder?.id === 'word-count-test' && ready(s));
    expect(calls.slice(2)).toEqual(['standBy wide-test', 'resume word-count-test']);
  });

  it('keeps the history, re-embeds, reopens the model in the new space, remembers the choice; switching back uses the cache', async () => {
    const databaseName = `switch-${Date.now()}`;
    const models = twoModels(new CountingEncoder(new PaddedWordEncoder('wide-test', 21)));
    const harness = await startTestEngine(items, { feedSize: 4, databaseName, modelsUrl: '/models/', overrides: models.overrides });
    await harness.until(ready);
    expect(harness.latest().encoder).toMatchObject({ id: 'word-count-test', dimension: 11 });
    expect(harness.latest().encoders!.map((e) => e.id)).toEqual(['word-count-test', 'wide-test', 'broken-test']);
    await harness.engine.record('like', 'f0');
    await harness.engine.record('like', 'f1');
    const narrowTexts = models.narrow.texts;

    const from = harness.snapshots.length;
    await harness.engine.setEncoder('wide-test');
    const during = harness.snapshots.slice(from).flatMap((s) => (s.encoderSwitch ? [s.encoderSwitch] : []));
    // Download progress first, then the books read, both reported; the feed was the old model's meanwhile.
    expect(during.some((p) => p.stage === 'loading' && p.done === 500 && p.total === 1000 && p.file === 'onnx/model_quantized.onnx')).toBe(true);
    const reading = during.filter((p) => p.stage === 'embedding');
    expect(reading.at(-1)).toMatchObject({ done: items.length, total: items.length });
    expect(reading.length).toBeGreaterThan(1);
    expect(
      harness.snapshots
        .slice(from)
        .filter((s) => s.encoderSwitch)
        .every((s) => s.encoder?.id === 'word-count-test'),
    ).toBe(true);

    const switched = await harness.until((s) => s.encoder?.id === 'wide-test' && ready(s));
    expect(switched.encoderSwitch).toBeUndefined();
    expect(switched.encoderError).toBeUndefined();
    expect((models.wide as CountingEncoder).texts).toBe(items.length);
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['f1', 'f0']);
    expect(switched.feed.map((f) => f.id)).not.toContain('f0');
    // The recommendation model was rebuilt for the new space and re-learned the history.
    const exported = JSON.parse(await harness.engine.exportData()) as { settings: Record<string, unknown>; weights: { name: string; shape: number[] }[] };
    expect(exported.settings['encoder.id']).toBe('wide-test');
    expect(exported.settings['model.id']).toBe('hybrid-wide-test-d32@1');
    expect(exported.weights.find((w) => w.name === 'local/W')!.shape).toEqual([32, 32]);
    // Both models' vectors are cached, each in its own dimension.
    const caches = await harness.engine.encoderCaches();
    expect(caches.map((c) => [c.id, c.count, c.active]).sort()).toEqual([
      ['wide-test', items.length, true],
      ['word-count-test', items.length, false],
    ]);

    // A reload starts on the chosen model, from its cache: nothing is embedded again.
    const reloadedWide = new CountingEncoder(new PaddedWordEncoder('wide-test', 21));
    const reloaded = await startTestEngine(items, {
      feedSize: 4,
      databaseName,
      modelsUrl: '/models/',
      overrides: twoModels(reloadedWide).overrides,
    });
    const restored = await reloaded.until((s) => s.encoder?.id === 'wide-test' && ready(s));
    expect(reloadedWide.texts).toBe(0);
    expect(restored.historySize).toBe(2);

    // Switching back: the old model is still loaded and its vectors cached, so nothing is computed.
    const loads = models.narrowLoads();
    const fromBack = harness.snapshots.length;
    await harness.engine.setEncoder('word-count-test');
    const back = await harness.until((s) => s.encoder?.id === 'word-count-test' && ready(s));
    expect(harness.snapshots.slice(fromBack).some((s) => s.encoderSwitch?.stage === 'embedding')).toBe(false);
    expect(models.narrowLoads()).toBe(loads);
    expect(models.narrow.texts).toBe(narrowTexts);
    expect(back.feed.map((f) => f.id)).not.toContain('f1');
    expect(harness.latest().historySize).toBe(2);

    // Clearing the other model's cache frees its vectors only.
    const wideBytes = (await harness.engine.encoderCaches()).find((c) => c.id === 'wide-test')!.bytes;
    expect(await harness.engine.clearOtherEncoderCaches()).toEqual({ count: items.length, bytes: wideBytes });
    expect((await harness.engine.encoderCaches()).map((c) => c.id)).toEqual(['word-count-test']);
  }, 30_000);

  it('the feed keeps working during a switch, and a newer choice cancels the one in progress', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = new PaddedWordEncoder('wide-test', 21);
    const embed = slow.embedBatch.bind(slow);
    slow.embedBatch = async (texts) => gate.then(() => embed(texts));
    const models = twoModels(slow);
    const harness = await startTestEngine(items, { feedSize: 4, modelsUrl: '/models/', overrides: models.overrides });
    await harness.until(ready);
    const switching = harness.engine.setEncoder('wide-test');
    await harness.until((s) => s.encoderSwitch?.stage === 'embedding');
    // The old model still ranks: a like re-ranks at once, with the old vectors.
    await harness.engine.record('like', 'o0');
    const during = harness.latest();
    expect(during.encoder?.id).toBe('word-count-test');
    expect(during.feed.map((f) => f.id)).not.toContain('o0');
    expect(during.encoderSwitch?.to).toBe('wide-test');

    await harness.engine.setEncoder('word-count-test');
    expect(harness.latest().encoderSwitch).toBeUndefined();
    release();
    await switching;
    await harness.until(ready);
    expect(harness.latest().encoder?.id).toBe('word-count-test');
    expect(harness.latest().encoderError).toBeUndefined();
    const settings = JSON.parse(await harness.engine.exportData()) as { settings: Record<string, unknown> };
    expect(settings.settings['encoder.id']).toBeUndefined();
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['o0']);
  }, 30_000);

  it('a model that fails to load, or fails while reading, leaves the previous one in place with a message', async () => {
    const failing = new PaddedWordEncoder('wide-test', 21);
    failing.embedBatch = async () => {
      throw new Error('Could not run wide-test/onnx/model_quantized.onnx: out of memory');
    };
    const models = twoModels(failing);
    const harness = await startTestEngine(items, { feedSize: 4, modelsUrl: '/models/', overrides: models.overrides });
    await harness.until(ready);
    const feed = harness.latest().feed;

    await harness.engine.setEncoder('broken-test');
    let after = harness.latest();
    expect(after.encoder?.id).toBe('word-count-test');
    expect(after.encoderSwitch).toBeUndefined();
    expect(after.encoderError).toMatch(/Could not switch to Broken model: .*broken-test\/onnx\/model_quantized\.onnx.*Still using Word counts/);
    expect(after.feed).toEqual(feed);

    await harness.engine.setEncoder('wide-test');
    after = harness.latest();
    expect(after.encoder?.id).toBe('word-count-test');
    expect(after.encoderError).toMatch(/Could not switch to Wide words: .*model_quantized\.onnx: out of memory/);
    await harness.engine.record('like', 's0');
    expect(harness.latest().feed.map((f) => f.id)).not.toContain('s0');
    await expect(harness.engine.setEncoder('no-such-model')).rejects.toThrow(/no text model "no-such-model"/);
  });
});

describe('Engine: lexical search', () => {
  const books: TestItem[] = [
    { id: 'tb', title: 'The Three-Body Problem (三体) by Liu Cixin', popularity: 90 },
    { id: 'df', title: 'The Dark Forest (黑暗森林) by Liu Cixin', popularity: 80 },
    { id: 'aw', title: 'The Art of War (孫子兵法) by Sun Tzu', popularity: 85 },
    { id: 'd1', title: 'Dragon magic', popularity: 50 },
    { id: 's1', title: 'Space robot planet', popularity: 100 },
    { id: 'r1', title: 'Love and romance', popularity: 70 },
  ];

  it('a Chinese query finds the Chinese title that the word-count model cannot tell apart', async () => {
    const harness = await startTestEngine(books, { feedSize: 3 });
    await harness.until((s) => s.embedding?.active === false);
    await harness.engine.setDiversity(0);
    // The encoder reads none of these words: every Chinese title gets the same vector.
    const [a, b] = await new WordCountEncoder().embedBatch(['黑暗森林', '三体']);
    expect(Array.from(a!)).toEqual(Array.from(b!));
    await harness.engine.setQuery('黑暗森林');
    expect(harness.latest().feed[0]).toMatchObject({ id: 'df', reason: 'Matches “黑暗森林”' });
    await harness.engine.setQuery('三体');
    expect(harness.latest().feed[0]!.id).toBe('tb');
  });

  it('a query works on words alone before and without the text model', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const harness = await startTestEngine(books, {
      feedSize: 3,
      overrides: { loadEncoder: () => gate.then(() => Promise.reject(new Error('model.json: HTTP 404'))) },
    });
    const searching = harness.engine.setQuery('dragon');
    // Ranked by its words at once, while the model is still loading.
    const early = await harness.until((s) => s.query === 'dragon' && s.searching === true);
    expect(early.feed[0]).toMatchObject({ id: 'd1', reason: 'Matches “dragon”' });
    release();
    await searching;
    const final = harness.latest();
    expect(final.searching).toBe(false);
    expect(final.queryError).toMatch(/Matching your words only: .*model\.json: HTTP 404/);
    expect(final.feed[0]!.id).toBe('d1');
    expect(final.feed).toHaveLength(3);
  });

  it('with a model loaded, blends both channels: a rare word lifts its book above closer-meaning ones', async () => {
    const harness = await startTestEngine(books, { feedSize: 2 });
    await harness.until((s) => s.embedding?.active === false);
    await harness.engine.setDiversity(0);
    // "Sun Tzu" is not in the model's vocabulary: only the lexical channel knows that book.
    await harness.engine.setQuery('space war sun tzu');
    expect(harness.latest().feed.map((f) => f.id)).toEqual(['aw', 's1']);
  });
});
