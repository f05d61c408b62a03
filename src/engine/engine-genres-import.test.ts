/**
 * The engine's genre chips ("What do you like to read?") and "Import gives back what was exported",
 * on the real Engine with real storage on fake IndexedDB (see testing/harness.ts).
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { parseExport } from '../core/export-format';
import { textHash } from '../core/hash';
import { encoderText } from '../core/item-text';
import { encodePrebuilt } from '../core/prebuilt-embeddings';
import { CachedVectors, IndexedDbStore } from '../storage/db';
import { linkedTabs, prebuiltUrlInTests, serveFiles, startTestEngine, WordCountEncoder, type EngineHarness, type TestItem } from './testing/harness';

type GenreItem = TestItem & { genres?: string[] };

const WORDS = { f: ['dragon', 'magic', 'wizard'], s: ['space', 'robot', 'planet'], o: ['love', 'romance', 'history'] } as const;
const GENRES = { f: 'fantasy', s: 'science-fiction', o: 'romance' } as const;
type Topic = keyof typeof WORDS;

/**
 * Ten books per topic, titled with two of its three words; fantasy is the least popular topic, so a
 * new user's feed holds little of it. Each book carries its topic's genre; `extra` adds a second genre.
 */
function catalog(extra: (topic: Topic, i: number) => string[] = () => []): GenreItem[] {
  return (Object.keys(WORDS) as Topic[]).flatMap((topic, t) =>
    Array.from({ length: 10 }, (_, i) => ({
      id: `${topic}${i}`,
      title: `${WORDS[topic][i % 3]} ${WORDS[topic][(i + 1 + Math.floor(i / 3)) % 3]} ${i}`,
      popularity: 10 * (t + 1) + i,
      genres: [GENRES[topic], ...extra(topic, i)],
    })),
  );
}

const cosineOf = (a: readonly number[], b: readonly number[]) => {
  let [ab, aa, bb] = [0, 0, 0];
  a.forEach((x, i) => ([ab, aa, bb] = [ab + x * b[i]!, aa + x * x, bb + b[i]! * b[i]!]));
  return ab / Math.sqrt(aa * bb);
};
const ids = (harness: EngineHarness) => harness.latest().feed.map((item) => item.id);
const topicCount = (feed: string[], topic: Topic) => feed.filter((id) => id.startsWith(topic)).length;
const modelReady = (harness: EngineHarness) => harness.until((s) => s.training !== undefined && s.embedding?.active === false && !s.training.progress);
/** Waits for the fine-tune that `after` snapshots ago had not run yet to finish. */
const trained = (harness: EngineHarness, runs: number, timeoutMs = 20_000) =>
  harness.until(
    (s) => (s.training?.losses.length ?? 0) > 0 && !s.training?.progress && harness.snapshots.filter((x) => x.training?.progress?.epoch === 0).length >= runs,
    timeoutMs,
  );

describe('Engine: genre chips', () => {
  it('offers the catalog genres with enough books, most books first, and none for a catalog without genres', async () => {
    // Fantasy books are also "classics" (3 of them: too few for a chip).
    const harness = await startTestEngine(
      catalog((topic, i) => (topic === 'f' && i < 3 ? ['classics'] : [])),
      { feedSize: 5 },
    );
    expect(harness.latest().genres).toEqual([
      { name: 'fantasy', books: 10 },
      { name: 'romance', books: 10 },
      { name: 'science-fiction', books: 10 },
    ]);
    expect(harness.latest().chosenGenres).toEqual([]);
    await expect(harness.engine.setGenre('no-such-genre', true)).rejects.toThrow(/no genre/);
    const plain = await startTestEngine(
      catalog().map(({ genres: _, ...item }) => item),
      { feedSize: 5 },
    );
    expect(plain.latest().genres).toBeUndefined();
  });

  it('choosing a genre moves its books to the top before any like; un-choosing restores the feed', async () => {
    const harness = await startTestEngine(catalog(), { feedSize: 5 });
    await modelReady(harness);
    const before = ids(harness);
    expect(topicCount(before, 'f')).toBeLessThanOrEqual(1);

    await harness.engine.setGenre('fantasy', true);
    // At once (content profile, and u nudged toward the genre's books)…
    expect(topicCount(ids(harness), 'f')).toBeGreaterThanOrEqual(4);
    expect(harness.latest().chosenGenres).toEqual(['fantasy']);
    // …and after the fine-tune that learns the genre's books as weak likes. They are not "read": they stay in the feed.
    const afterTraining = await trained(harness, 1);
    expect(
      topicCount(
        afterTraining.feed.map((item) => item.id),
        'f',
      ),
    ).toBeGreaterThanOrEqual(4);
    // Choosing it again adds nothing.
    await harness.engine.setGenre('fantasy', true);
    const history = await harness.engine.history();
    expect(history.map(({ kind, itemId, title }) => ({ kind, itemId, title }))).toEqual([{ kind: 'genre', itemId: 'fantasy', title: 'fantasy' }]);

    await harness.engine.setGenre('fantasy', false);
    expect(harness.latest().chosenGenres).toEqual([]);
    expect(await harness.engine.history()).toEqual([]);
    expect(ids(harness)).toEqual(before);
  }, 30_000);

  it('likes outweigh a chosen genre', async () => {
    const harness = await startTestEngine(catalog(), { feedSize: 5 });
    await modelReady(harness);
    await harness.engine.setGenre('fantasy', true);
    for (const id of ['s0', 's1', 's2']) await harness.engine.record('like', id);
    const after = await trained(harness, 1);
    expect(
      topicCount(
        after.feed.map((item) => item.id),
        's',
      ),
    ).toBeGreaterThan(
      topicCount(
        after.feed.map((item) => item.id),
        'f',
      ),
    );
  }, 30_000);

  it('is exported, deletable in the history like any event, and an imported unknown genre is kept but unused', async () => {
    const harness = await startTestEngine(catalog(), { feedSize: 5 });
    await modelReady(harness);
    const before = ids(harness);
    await harness.engine.setGenre('romance', true);
    await harness.engine.setGenre('fantasy', true);
    expect(harness.latest().chosenGenres).toEqual(['romance', 'fantasy']);
    const file = parseExport(await harness.engine.exportData());
    expect(file.events.map(({ kind, itemId }) => `${kind}:${itemId}`)).toEqual(['genre:romance', 'genre:fantasy']);

    // Deleting the fantasy choice in the History panel un-chooses it.
    const fantasy = (await harness.engine.history()).find((entry) => entry.itemId === 'fantasy')!;
    await harness.engine.deleteEvents([fantasy.id]);
    expect(harness.latest().chosenGenres).toEqual(['romance']);
    await harness.engine.deleteEvents((await harness.engine.history()).map((entry) => entry.id));
    expect(ids(harness)).toEqual(before);

    // A file choosing a genre this catalog lacks: stored and listed, never offered or used.
    const text = JSON.stringify({ ...file, events: [{ kind: 'genre', itemId: 'cyberpunk', at: Date.UTC(2026, 0, 5) }], weights: [], settings: {} });
    expect(await harness.engine.importData(text)).toEqual({ added: 1, inFile: 1 });
    expect((await harness.engine.history()).map((entry) => entry.title)).toEqual(['cyberpunk']);
    expect(harness.latest().chosenGenres).toEqual([]);
    expect(ids(harness)).toEqual(before);
  }, 30_000);

  it('before the recommendation model starts, the content profile alone moves the genre up', async () => {
    // The catalog's precomputed vectors rank at once; the text model (and so the model) is held back.
    const items = catalog();
    // Built as the catalog builder does: for the text the engine embeds (title and genres).
    const texts = items.map((item) => encoderText({ text: item.title, genres: item.genres }));
    const vectors = await new WordCountEncoder().embedBatch(texts);
    const file = encodePrebuilt({
      modelId: 'word-count-test',
      dimension: vectors[0]!.length,
      rows: texts.map((text, i) => ({ textHash: textHash(text), vector: vectors[i]! })),
    });
    const served = serveFiles({ [prebuiltUrlInTests('word-count-test')]: file });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const harness = await startTestEngine(items, {
      feedSize: 5,
      overrides: { fetchBytes: served.fetchBytes, loadEncoder: async () => (await held, new WordCountEncoder()) },
    });
    await harness.until((s) => s.prebuilt?.state === 'checking');
    const before = ids(harness);
    expect(topicCount(before, 'f')).toBeLessThanOrEqual(1);
    await harness.engine.setGenre('fantasy', true);
    expect(harness.latest().training).toBeUndefined();
    expect(topicCount(ids(harness), 'f')).toBeGreaterThanOrEqual(4);
    await harness.engine.setGenre('fantasy', false);
    expect(ids(harness)).toEqual(before);
    release();
  });

  it('refuses to record a genre as an item event', async () => {
    const harness = await startTestEngine(catalog(), { feedSize: 5 });
    await expect(harness.engine.record('genre', 'f0')).rejects.toThrow(/setGenre/);
  });
});

describe('Engine: import gives back what was exported', () => {
  const items = catalog();

  /** A reader's device: likes, a fine-tune, then one more like (learned online only), and the export. */
  async function exportedReader(): Promise<{ text: string; feed: string[]; losses: number[] }> {
    const harness = await startTestEngine(items, { feedSize: 10 });
    await modelReady(harness);
    for (const id of ['f0', 'f1', 'o2']) await harness.engine.record('like', id);
    await trained(harness, 1);
    await harness.engine.record('like', 'f4');
    await harness.engine.record('dislike', 's9');
    const feed = ids(harness);
    const text = await harness.engine.exportData();
    return { text, feed, losses: harness.latest().training!.losses };
  }

  it('after an erase, a new engine importing the file ranks the same top 10, without re-fitting', async () => {
    const exported = await exportedReader();
    // "Erase all my data", then "Start again": a new engine on an empty database.
    const fresh = await startTestEngine(items, { feedSize: 10 });
    await modelReady(fresh);
    expect(ids(fresh)).not.toEqual(exported.feed);
    await fresh.engine.importData(exported.text);
    expect(ids(fresh)).toEqual(exported.feed);
    expect(fresh.latest().training!.losses).toEqual(exported.losses);
    expect(fresh.latest().activity).toBeUndefined();
    // No fine-tune starts afterwards to move it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fresh.snapshots.some((s) => s.training?.progress)).toBe(false);
    expect(ids(fresh)).toEqual(exported.feed);
    // A reload restores it again.
    const exportedAgain = parseExport(await fresh.engine.exportData());
    expect(exportedAgain.weights.find((w) => w.name === 'user/u')).toEqual(parseExport(exported.text).weights.find((w) => w.name === 'user/u'));
  }, 60_000);

  it('while the catalog is read again, says it is restoring, and gives the feed back once every book has its vector', async () => {
    const exported = await exportedReader();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class Gated extends WordCountEncoder {
      override async embedBatch(texts: readonly string[]) {
        await gate;
        return super.embedBatch(texts);
      }
    }
    const fresh = await startTestEngine(items, { feedSize: 10, overrides: { loadEncoder: async () => new Gated() } });
    expect(fresh.latest().training).toBeUndefined();
    await fresh.engine.importData(exported.text);
    expect(fresh.latest().activity).toBe('Restoring your model: reading the catalog first…');
    release();
    const restored = await fresh.until((s) => s.training !== undefined && s.activity === undefined && s.embedding?.active === false, 20_000);
    expect(restored.feed.map((item) => item.id)).toEqual(exported.feed);
    expect(restored.training!.losses).toEqual(exported.losses);
  }, 60_000);

  it('a file without a model (or for another catalog) merges the history and re-fits, as before', async () => {
    const exported = await exportedReader();
    const file = parseExport(exported.text);
    const fresh = await startTestEngine(items, { feedSize: 10 });
    await modelReady(fresh);
    await fresh.engine.importData(JSON.stringify({ ...file, weights: [] }));
    await trained(fresh, 1);
    expect((await fresh.engine.history()).map((e) => e.itemId).sort()).toEqual(['f0', 'f1', 'f4', 'o2', 's9']);
    // The device's own model was re-fitted from zero on the merged history, not replaced by the file's.
    expect(fresh.latest().training!.losses).not.toEqual(exported.losses);
  }, 60_000);

  it('history deleted while the catalog is read again (no model open) is forgotten by the model that opens then', async () => {
    const databaseName = `refit-on-open-${Date.now()}`;
    const first = await startTestEngine(items, { feedSize: 10, databaseName });
    await modelReady(first);
    for (const id of ['f0', 'f1', 'f2']) await first.engine.record('like', id);
    await trained(first, 1);
    expect((await first.engine.planModelUpdate()).ready).toBe(true);
    // A later visit whose embedding cache is gone (the catalog is read again, slowly): no model is open.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class Gated extends WordCountEncoder {
      override async embedBatch(texts: readonly string[]) {
        await gate;
        return super.embedBatch(texts);
      }
    }
    const later = await startTestEngine(items, {
      feedSize: 10,
      databaseName,
      overrides: {
        loadEncoder: async () => new Gated(),
        openStorage: async (options) => {
          const storage = await IndexedDbStore.open(databaseName, options);
          storage.readEmbeddings = async () => CachedVectors.empty();
          return storage;
        },
      },
    });
    expect(later.latest().training).toBeUndefined();
    await later.engine.deleteEventsBetween(0, Date.now() + 1000);
    release();
    await later.until((s) => s.training !== undefined && s.embedding?.active === false, 20_000);
    // The stored model learned from the deleted likes: opened now, it forgets them (nothing left to share).
    expect((await later.engine.planModelUpdate()).ready).toBe(false);
  }, 60_000);

  it('another tab open on the same data reopens the model that an import restored (and never stores its stale copy over it)', async () => {
    const exported = await exportedReader();
    const databaseName = `two-tabs-${Date.now()}`;
    // Two tabs of the app (linkedTabs).
    const channel = linkedTabs();
    const tab = (index: number) =>
      startTestEngine(items, {
        feedSize: 10,
        databaseName,
        overrides: {
          ...channel(index),
        },
      });
    const first = await tab(0);
    await modelReady(first);
    const second = await tab(1);
    await modelReady(second);
    await first.engine.importData(exported.text);
    expect(ids(first)).toEqual(exported.feed);
    await second.until((s) => s.historySize === 5 && s.feed.map((item) => item.id).join() === exported.feed.join(), 10_000);
    // A like in the second tab stores its u: the imported one, moved by that like, not the fresh one it had.
    await second.engine.record('like', 'f5');
    const storage = await IndexedDbStore.open(databaseName);
    const storedUser = (await storage.listWeights()).find((w) => w.name === 'user/u')!.values;
    storage.close();
    const fileUser = parseExport(exported.text).weights.find((w) => w.name === 'user/u')!.values;
    expect(cosineOf(Array.from(storedUser), fileUser)).toBeGreaterThan(0.9);
  }, 60_000);

  it("keeps this device's model when its history has events the file lacks", async () => {
    const exported = await exportedReader();
    const databaseName = `import-merge-${Date.now()}`;
    const other = await startTestEngine(items, { feedSize: 10, databaseName });
    await modelReady(other);
    await other.engine.record('like', 's0');
    // This device shared a model update (its privacy cost is recorded); the file never did.
    await other.engine.exportModelUpdate();
    expect(parseExport(exported.text).settings['federated.exportNoiseMultipliers']).toBeUndefined();
    await other.engine.importData(exported.text);
    const fileUser = parseExport(exported.text).weights.find((w) => w.name === 'user/u')!.values;
    const storage = await IndexedDbStore.open(databaseName);
    const storedUser = Array.from((await storage.listWeights()).find((w) => w.name === 'user/u')!.values);
    const settings = await storage.getSettings();
    storage.close();
    expect(storedUser).not.toEqual(fileUser);
    // The privacy already spent is never forgotten by an import.
    expect(settings['federated.exportNoiseMultipliers']).toHaveLength(1);
    expect((await other.engine.history()).map((e) => e.itemId).sort()).toEqual(['f0', 'f1', 'f4', 'o2', 's0', 's9']);
  }, 60_000);
});
