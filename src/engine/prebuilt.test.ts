import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { coLikedUrl } from '../core/model/co-liked';
import type { SentenceEncoder } from '../core/encoder';
import { textHash } from '../core/hash';
import { cosine } from '../core/vector';
import { IndexedDbStore } from '../storage/db';
import {
  encoderOption,
  PaddedWordEncoder,
  prebuiltFileFor,
  prebuiltUrlInTests,
  serveFiles,
  SIX_BOOKS,
  startTestEngine,
  WordCountEncoder,
  type TestItem,
} from './testing/harness';
import { englishWarnings } from './testing/warnings';

const items = SIX_BOOKS;
const URL_OF_FILE = prebuiltUrlInTests('word-count-test');
/** Fetched beside the catalog too, whatever the text model (src/core/model/co-liked.ts). */
const CO_LIKED_URL = coLikedUrl('/catalog.json');

/** The test encoder, counting the texts it reads, whose load waits until the test releases it. */
function gatedEncoder(inner: SentenceEncoder = new WordCountEncoder()) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const encoder = {
    id: inner.id,
    dimension: inner.dimension,
    texts: [] as string[],
    async embedBatch(texts: readonly string[]) {
      encoder.texts.push(...texts);
      return inner.embedBatch(texts);
    },
  };
  return { encoder, release, loadEncoder: async () => (await gate, encoder) };
}

/** Same id and width as the test encoder, other vectors: a file built with another version of "the" model. */
class RotatedWordEncoder implements SentenceEncoder {
  readonly id = 'word-count-test';
  readonly dimension = new WordCountEncoder().dimension;
  async embedBatch(texts: readonly string[]): Promise<Float32Array[]> {
    const vectors = await new WordCountEncoder().embedBatch(texts);
    return vectors.map((v) => Float32Array.from(v, (_, j) => v[(j + 3) % v.length]!));
  }
}

const hashOf = (item: TestItem) => textHash(item.text ?? item.title);

describe('precomputed catalog embeddings', () => {
  it('a matching file ranks at once, before the text model has loaded; a sample is checked, then all are cached', async () => {
    // The file was built before one book's text was edited: that book must be read here.
    const edited = items.map((item) => (item.id === 'h1' ? { ...item, title: 'War history, revised edition' } : item));
    const file = await prebuiltFileFor(items, new WordCountEncoder());
    const gated = gatedEncoder();
    const served = serveFiles({ [URL_OF_FILE]: file });
    const databaseName = `prebuilt-ok-${Date.now()}`;
    const harness = await startTestEngine(edited, { feedSize: 4, databaseName, overrides: { fetchBytes: served.fetchBytes, loadEncoder: gated.loadEncoder } });

    const checking = await harness.until((s) => s.prebuilt?.state === 'checking');
    expect(served.requested.filter((url) => url !== CO_LIKED_URL)).toEqual([URL_OF_FILE]);
    expect(checking.prebuilt).toMatchObject({ modelId: 'word-count-test', rows: 5 });
    expect(checking.embedding).toMatchObject({ done: 5, total: 6 });
    // The taste profile already uses the file's vectors: a like of one dragon book brings up the other.
    await harness.engine.record('like', 'd1');
    expect(harness.latest().feed[0]!.id).toBe('d2');
    expect(gated.encoder.texts).toEqual([]);

    gated.release();
    const verified = await harness.until((s) => s.prebuilt?.state === 'verified' && s.embedding?.active === false);
    expect(verified.prebuilt!.minCosine).toBeGreaterThan(0.999);
    expect(verified.embedding).toMatchObject({ done: 6, total: 6 });
    // Read here: the 5 sampled texts (all of them, fewer than 8) and the edited book, nothing else.
    expect(new Set(gated.encoder.texts)).toEqual(new Set([...items.slice(0, 5).map((i) => i.title), 'War history, revised edition']));
    expect(gated.encoder.texts).toHaveLength(6);
    expect(verified.warnings).toEqual([]);
    // Cached under the model: a second visit needs neither the file nor the model for them.
    const storage = await IndexedDbStore.open(databaseName);
    const cached = await storage.getEmbeddings(
      'word-count-test',
      edited.map((i) => textHash(i.title)),
    );
    expect(cached.size).toBe(6);
    storage.close();
    const again = serveFiles({ [URL_OF_FILE]: file });
    await startTestEngine(edited, { databaseName, overrides: { fetchBytes: again.fetchBytes } });
    expect(again.requested.filter((url) => url.endsWith('.emb'))).toEqual([]); // (a .global may be asked for: the model's own file)
  });

  it('the recommendation model starts only from checked vectors', async () => {
    const gated = gatedEncoder();
    const harness = await startTestEngine(items, {
      overrides: { fetchBytes: serveFiles({ [URL_OF_FILE]: await prebuiltFileFor(items, new WordCountEncoder()) }).fetchBytes, loadEncoder: gated.loadEncoder },
    });
    // Every book has a vector from the file (enough to start the model), the backend is up: still no model.
    await harness.until((s) => s.prebuilt?.state === 'checking' && s.backend !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(harness.latest().training).toBeUndefined();
    gated.release();
    await harness.until((s) => s.prebuilt?.state === 'verified' && s.training !== undefined);
  });

  it('a file whose sample disagrees with the device encoder is discarded with a warning, and the catalog is read here', async () => {
    const file = await prebuiltFileFor(items, new RotatedWordEncoder());
    const gated = gatedEncoder();
    const databaseName = `prebuilt-bad-${Date.now()}`;
    const harness = await startTestEngine(items, {
      feedSize: 4,
      databaseName,
      overrides: { fetchBytes: serveFiles({ [URL_OF_FILE]: file }).fetchBytes, loadEncoder: gated.loadEncoder },
    });
    await harness.until((s) => s.prebuilt?.state === 'checking');
    gated.release();
    const done = await harness.until((s) => s.prebuilt?.state === 'discarded' && s.embedding?.active === false && s.embedding.done === 6);
    expect(done.prebuilt!.minCosine).toBeLessThan(0.99);
    expect(englishWarnings(done).join('\n')).toMatch(/precomputed embeddings do not match this device's text model .*discarded/);
    // Every book was read by the device's own model, and only its vectors are cached.
    for (const item of items) expect(gated.encoder.texts).toContain(item.title);
    const storage = await IndexedDbStore.open(databaseName);
    const cached = await storage.getEmbeddings('word-count-test', items.map(hashOf));
    const [own] = await new WordCountEncoder().embedBatch(['Dragon magic']);
    expect(cosine(cached.get(hashOf(items[0]!))!, own!)).toBeGreaterThan(0.999);
    expect(cached.size).toBe(6);
    storage.close();
    await harness.engine.record('like', 'd1');
    expect(harness.latest().feed[0]!.id).toBe('d2');
  });

  it('a file built for another model, or damaged, is ignored with a warning naming why', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [await prebuiltFileFor(items, new WordCountEncoder(), 'use-lite-512'), /built with use-lite-512 \(11 dimensions\), not word-count-test/],
      [(await prebuiltFileFor(items, new WordCountEncoder())).subarray(0, 100), /truncated/],
    ];
    for (const [file, reason] of cases) {
      const gated = gatedEncoder();
      gated.release();
      const harness = await startTestEngine(items, {
        overrides: { fetchBytes: serveFiles({ [URL_OF_FILE]: file }).fetchBytes, loadEncoder: gated.loadEncoder },
      });
      const done = await harness.until((s) => s.embedding?.active === false && s.embedding.done === 6);
      expect(done.prebuilt).toBeUndefined();
      expect(englishWarnings(done).join('\n')).toMatch(reason);
      expect(gated.encoder.texts).toHaveLength(6);
    }
  });

  it('no file is nothing to report', async () => {
    const served = serveFiles({});
    const harness = await startTestEngine(items, { overrides: { fetchBytes: served.fetchBytes } });
    const done = await harness.until((s) => s.embedding?.active === false && s.embedding.done === 6);
    expect(served.requested.filter((url) => url !== CO_LIKED_URL)).toEqual([URL_OF_FILE]);
    expect(done.prebuilt).toBeUndefined();
    expect(done.warnings).toEqual([]);
  });

  it('switching to another model in Settings uses that model’s file too, checked at once with the loaded model', async () => {
    // More books than the sample, so that reading only the sample differs from reading them all.
    const many: TestItem[] = [...items, ...Array.from({ length: 14 }, (_, i) => ({ id: `x${i}`, title: `Volume ${i} of robot history`, popularity: i }))];
    const wide = new PaddedWordEncoder('wide-test', 21);
    const builtWith = new PaddedWordEncoder('wide-test', 21);
    const served = serveFiles({ [prebuiltUrlInTests('wide-test')]: await prebuiltFileFor(many, builtWith) });
    const harness = await startTestEngine(many, {
      modelsUrl: '/models/',
      overrides: {
        fetchBytes: served.fetchBytes,
        listEncoders: async () => [encoderOption(new WordCountEncoder(), { bundled: true }), encoderOption(wide)],
        loadEncoderById: async () => wide,
      },
    });
    await harness.until((s) => s.embedding?.active === false && s.embedding.done === 20);
    await harness.engine.setEncoder('wide-test');
    const switched = await harness.until((s) => s.encoder?.id === 'wide-test' && s.prebuilt?.state === 'verified' && s.embedding?.active === false);
    expect(switched.prebuilt).toMatchObject({ modelId: 'wide-test', rows: 20 });
    expect(wide.calls).toBe(8); // the sample, and nothing else
    expect(served.requested.filter((url) => url.endsWith('.emb'))).toEqual([prebuiltUrlInTests('word-count-test'), prebuiltUrlInTests('wide-test')]);
    expect(switched.warnings).toEqual([]);
  });
});
