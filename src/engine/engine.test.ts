import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { Storage } from '../storage/db';
import { startTestEngine, WordCountEncoder, type TestItem } from './testing/harness';
import { embeddingOrder } from './engine';

describe('embeddingOrder', () => {
  it('embeds the most popular window first, sorted by length inside it', () => {
    const n = 1200;
    const popularity = Float32Array.from({ length: n }, (_, i) => n - i); // index 0 most popular
    const length = (i: number) => (i * 7919) % 101;
    const order = embeddingOrder(Array.from({ length: n }, (_, i) => i), popularity, length);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    const firstWindow = order.slice(0, 512);
    expect(Math.max(...firstWindow)).toBe(511); // exactly the 512 most popular
    for (let i = 1; i < 512; i++) expect(length(firstWindow[i]!)).toBeGreaterThanOrEqual(length(firstWindow[i - 1]!));
  });
});

describe('Engine (real storage on fake IndexedDB)', () => {
  const items: TestItem[] = [
    { id: 'd1', title: 'Dragon magic', popularity: 50 },
    { id: 'd2', title: 'The wizard and the dragon', popularity: 40 },
    { id: 's1', title: 'Space robot planet', popularity: 100 },
    { id: 's2', title: 'Robot on a far planet', popularity: 90 },
    { id: 'r1', title: 'Love and romance', popularity: 80 },
    { id: 'h1', title: 'War history', popularity: 70 },
  ];

  it('records events, re-ranks toward a like, and keeps a disliked item out', async () => {
    const harness = await startTestEngine(items, { feedSize: 4 });
    await harness.until((s) => s.embedding?.active === false);
    expect(harness.latest().feed.map((f) => f.id)).toEqual(['s1', 's2', 'r1', 'h1']);
    await harness.engine.record('like', 'd1');
    const feed = harness.latest().feed.map((f) => f.id);
    expect(feed[0]).toBe('d2');
    expect(feed).not.toContain('d1');
    await harness.engine.record('dislike', 's1');
    expect(harness.latest().feed.map((f) => f.id)).not.toContain('s1');
    expect(harness.broadcasts).toHaveLength(2);
  });

  it('counts a view once per item per visit', async () => {
    const harness = await startTestEngine(items);
    await harness.engine.record('view', 's1');
    await harness.engine.record('view', 's1');
    await harness.engine.record('view', 's2');
    expect((await harness.engine.history()).map((e) => `${e.kind}:${e.itemId}`)).toEqual(['view:s2', 'view:s1']);
  });

  it('when the quota is exceeded, drops the embedding cache, retries, and warns; history is kept', async () => {
    let storage: Storage | undefined;
    let failures = 1;
    const harness = await startTestEngine(items, {
      overrides: {
        openStorage: async (options) => {
          storage = await Storage.open(`quota-${Date.now()}`, options);
          const append = storage.appendEvent.bind(storage);
          storage.appendEvent = async (event) => {
            if (failures-- > 0) throw new DOMException('full', 'QuotaExceededError');
            return append(event);
          };
          return storage;
        },
      },
    });
    await harness.until((s) => s.embedding?.active === false);
    expect((await storage!.sizes()).embeddings.count).toBeGreaterThan(0);
    await harness.engine.record('like', 'd1');
    expect((await storage!.sizes()).embeddings.count).toBe(0);
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['d1']);
    expect(harness.latest().warnings.join(' ')).toMatch(/nearly full.*history is kept/);

    failures = 2;
    await expect(harness.engine.record('like', 'd2')).rejects.toThrow(/storage for the app is full.*history is intact/);
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['d1']);
  });
});

describe('Engine search and diversity', () => {
  const items: TestItem[] = [
    { id: 'd1', title: 'Dragon magic', popularity: 50 },
    { id: 'd2', title: 'Dragon magic dragon', popularity: 45 },
    { id: 'd3', title: 'The wizard and the dragon', popularity: 40 },
    { id: 's1', title: 'Space robot planet', popularity: 100 },
    { id: 's2', title: 'Robot on a far planet', popularity: 90 },
    { id: 'r1', title: 'Love and romance', popularity: 80 },
  ];

  it('a query pulls matching items up and an empty query restores the feed', async () => {
    const harness = await startTestEngine(items, { feedSize: 3 });
    await harness.until((s) => s.embedding?.active === false);
    await harness.engine.setDiversity(0);
    const before = harness.latest().feed.map((f) => f.id);
    expect(before[0]).toBe('s1');
    await harness.engine.setQuery('  a dragon story ');
    const searched = harness.latest();
    expect(searched.query).toBe('a dragon story');
    expect(searched.searching).toBe(false);
    expect(searched.feed.map((f) => f.id).slice(0, 2).sort()).toEqual(['d1', 'd2']);
    expect(searched.feed[0]!.reason).toBe('Matches “a dragon story”');
    await harness.engine.setQuery('');
    expect(harness.latest().feed.map((f) => f.id)).toEqual(before);
  });

  it('diversity spreads the top of a query over different items', async () => {
    const harness = await startTestEngine(items, { feedSize: 2 });
    await harness.until((s) => s.embedding?.active === false);
    await harness.engine.setDiversity(0);
    await harness.engine.setQuery('dragon magic');
    expect(harness.latest().feed.map((f) => f.id).sort()).toEqual(['d1', 'd2']);
    await harness.engine.setDiversity(1);
    expect(harness.latest().diversity).toBe(1);
    expect(harness.latest().feed.map((f) => f.id)).not.toEqual(expect.arrayContaining(['d1', 'd2']));
    await expect(harness.engine.setDiversity(Number.NaN)).rejects.toThrow(/between 0 and 1/);
  });
});

describe('Engine search before the catalog is embedded', () => {
  it('keeps a full feed and applies the query as vectors arrive', async () => {
    const items: TestItem[] = Array.from({ length: 40 }, (_, i) => ({ id: `b${i}`, title: i === 39 ? 'Dragon magic dragon' : `Robot planet ${i}`, popularity: 100 - i }));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const harness = await startTestEngine(items, {
      feedSize: 5,
      overrides: {
        // Holds the catalog encoder until the query is set: the query comes first, as when a user types at once.
        loadEncoder: async () => {
          const encoder = new WordCountEncoder();
          const embed = encoder.embedBatch.bind(encoder);
          encoder.embedBatch = async (texts) => (texts.length > 1 ? gate.then(() => embed(texts)) : embed(texts));
          return encoder;
        },
      },
    });
    const searching = harness.engine.setQuery('dragon');
    await harness.until((s) => s.searching === true);
    release();
    await searching;
    expect(harness.latest().feed).toHaveLength(5);
    const final = await harness.until((s) => s.embedding?.active === false && s.feed[0]?.id === 'b39');
    expect(final.feed[0]!.reason).toBe('Matches “dragon”');
  });
});
