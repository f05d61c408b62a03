import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { IndexedDbStore, type OpenOptions } from '../storage/db';
import { openDB } from 'idb';
import { textHash } from '../core/hash';
import { SIX_BOOKS, startTestEngine, TEST_VOCABULARY, WordCountEncoder, type TestItem } from './testing/harness';
import { englishWarnings } from './testing/warnings';

describe('Engine (real storage on fake IndexedDB)', () => {
  const items = SIX_BOOKS;

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

  it('tells the encoder when the user acts (a like, a search), not on an impression', async () => {
    let active = 0;
    class Watching extends WordCountEncoder {
      userActive() {
        active++;
      }
    }
    const harness = await startTestEngine(items, { overrides: { loadEncoder: async () => new Watching() } });
    await harness.until((s) => s.embedding?.active === false);
    await harness.engine.record('view', 's1');
    expect(active).toBe(0);
    await harness.engine.record('like', 'd1');
    await harness.engine.setQuery('dragon');
    expect(active).toBe(2);
  });

  it('counts a view once per item per visit', async () => {
    const harness = await startTestEngine(items);
    await harness.engine.record('view', 's1');
    await harness.engine.record('view', 's1');
    await harness.engine.record('view', 's2');
    expect((await harness.engine.history()).map((e) => `${e.kind}:${e.itemId}`)).toEqual(['view:s2', 'view:s1']);
  });

  it('when the quota is exceeded, drops the embedding cache, retries, and warns; history is kept', async () => {
    let storage: IndexedDbStore | undefined;
    let failures = 1;
    const harness = await startTestEngine(items, {
      overrides: {
        openStorage: async (options) => {
          storage = await IndexedDbStore.open(`quota-${Date.now()}`, options);
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
    expect(englishWarnings(harness.latest()).join(' ')).toMatch(/nearly full.*history is kept/);

    // Still full after the cache went: the like is kept in memory for the visit, the stored one stays stored, and the notice says so.
    failures = 2;
    await harness.engine.record('like', 'd2');
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['d2', 'd1']);
    expect(harness.latest().storage).toMatchObject({ persisted: false, reason: 'quota' });
    expect((await storage!.listEvents()).events.map((e) => e.itemId)).toEqual(['d1']);
  });
});

describe('Engine: the embedding cache', () => {
  /** 600 books: 19 batches of 32, each cached as a record of its own while the catalog is read. */
  const books = Array.from({ length: 600 }, (_, i) => ({
    id: `b${i}`,
    title: `${TEST_VOCABULARY[i % TEST_VOCABULARY.length]} book ${i}`,
    popularity: 600 - i,
  }));
  const encoder = new WordCountEncoder();

  it('is merged into one record once the catalog is read, every vector reading back as cached', async () => {
    const databaseName = `engine-compact-${Date.now()}`;
    const harness = await startTestEngine(books, { databaseName });
    await harness.until((s) => s.embedding?.active === false && s.embedding.done === books.length);
    const raw = await openDB(databaseName);
    await expect.poll(() => raw.count('embeddings')).toBe(1);
    // Every vector as the encoder gave it, in its cached (int8) form.
    const storage = await IndexedDbStore.open(databaseName);
    const cached = await storage.readEmbeddings(encoder.id);
    expect(cached.size).toBe(books.length);
    const vectors = await encoder.embedBatch(books.map((book) => book.title));
    books.forEach((book, i) => expect(cached.get(textHash(book.title))).toEqual(IndexedDbStore.asCached(vectors[i]!)));
    raw.close();
    storage.close();
  });

  it('found all cached in small records (a cache from before), is merged a few seconds after the start, not during it', async () => {
    const databaseName = `engine-compact-later-${Date.now()}`;
    const storage = await IndexedDbStore.open(databaseName);
    const vectors = await encoder.embedBatch(books.map((book) => book.title));
    for (let start = 0; start < books.length; start += 32) {
      await storage.putEmbeddings(
        books.slice(start, start + 32).map((book, k) => ({ modelId: encoder.id, textHash: textHash(book.title), vector: vectors[start + k]! })),
      );
    }
    const raw = await openDB(databaseName);
    const harness = await startTestEngine(books, { databaseName });
    await harness.until((s) => s.embedding?.active === false && s.embedding.done === books.length);
    expect(await raw.count('embeddings')).toBe(19);
    await expect.poll(() => raw.count('embeddings'), { timeout: 10_000 }).toBe(1);
    expect((await storage.readEmbeddings(encoder.id)).size).toBe(books.length);
    raw.close();
    storage.close();
  }, 20_000);
});

describe('Engine: a returning visit on a nearly full disk', () => {
  it('asks for the storage estimate before opening the database, drops the cached vectors, warns, and keeps the history', async () => {
    const databaseName = `quota-start-${Date.now()}`;
    const first = await startTestEngine(SIX_BOOKS, { databaseName });
    await first.until((s) => s.embedding?.active === false);
    await first.engine.record('like', 'd1');
    const order: string[] = [];
    let storage: IndexedDbStore | undefined;
    const second = await startTestEngine(SIX_BOOKS, {
      databaseName,
      overrides: {
        estimateStorage: async () => {
          order.push('estimate');
          return { usage: 95, quota: 100 };
        },
        openStorage: async (options) => {
          order.push('open');
          storage = await IndexedDbStore.open(databaseName, options);
          return storage;
        },
      },
    });
    expect(order).toEqual(['estimate', 'open']);
    expect(englishWarnings(second.latest()).join(' ')).toMatch(/nearly full.*history is kept/);
    expect((await second.engine.history()).map((e) => e.itemId)).toEqual(['d1']);
    // The cached vectors are gone and not written again: the catalog is read here, into memory only.
    await second.until((s) => s.embedding?.active === false);
    expect((await storage!.sizes()).embeddings.count).toBe(0);
  });
});

describe('Engine: the feed does not wait for IndexedDB', () => {
  const items = SIX_BOOKS;
  /** IndexedDbStore whose appends wait until `release` is called, then succeed or fail with `error`. */
  function heldAppends() {
    const held: { release: () => void }[] = [];
    let error: Error | undefined;
    const openStorage = async (options: OpenOptions) => {
      const storage = await IndexedDbStore.open(`held-${Date.now()}-${Math.random()}`, options);
      const append = storage.appendEvent.bind(storage);
      storage.appendEvent = (event) => new Promise((resolve, reject) => held.push({ release: () => (error ? reject(error) : resolve(append(event))) }));
      return storage;
    };
    return { openStorage, held, fail: (e: Error) => (error = e) };
  }

  it('re-ranks on a like before the write commits, and lists it once stored', async () => {
    const storage = heldAppends();
    const harness = await startTestEngine(items, { feedSize: 3, overrides: { openStorage: storage.openStorage } });
    await harness.until((s) => s.embedding?.active === false);
    const liked = harness.engine.record('like', 'd1');
    await harness.until((s) => s.feed[0]?.id === 'd2');
    expect(harness.latest().feed.map((f) => f.id)).not.toContain('d1');
    expect(harness.latest().historySize).toBe(0);
    expect(await harness.engine.history()).toEqual([]);
    storage.held.shift()!.release();
    await liked;
    expect(harness.latest().historySize).toBe(1);
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['d1']);
    expect((await harness.engine.history())[0]!.id).toBeGreaterThan(0);
  });

  it('takes the like back when it cannot be stored: feed, profile and history as before', async () => {
    const storage = heldAppends();
    const harness = await startTestEngine(items, { feedSize: 3, overrides: { openStorage: storage.openStorage } });
    await harness.until((s) => s.embedding?.active === false);
    await harness.engine.setDiversity(harness.latest().diversity); // a feed ranked with every vector present
    const before = harness.latest().feed.map((f) => f.id);
    const liked = harness.engine.record('like', 'd1');
    await harness.until((s) => s.feed[0]?.id === 'd2');
    storage.fail(new Error('disk on fire'));
    storage.held.shift()!.release();
    await expect(liked).rejects.toThrow('disk on fire');
    expect(harness.latest().feed.map((f) => f.id)).toEqual(before);
    expect(await harness.engine.history()).toEqual([]);
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
    expect(
      searched.feed
        .map((f) => f.id)
        .slice(0, 2)
        .sort(),
    ).toEqual(['d1', 'd2']);
    expect(searched.feed[0]!.reason).toBe('Matches “a dragon story”');
    await harness.engine.setQuery('');
    expect(harness.latest().feed.map((f) => f.id)).toEqual(before);
  });

  it('diversity spreads the top of a query over different items', async () => {
    const harness = await startTestEngine(items, { feedSize: 2 });
    await harness.until((s) => s.embedding?.active === false);
    await harness.engine.setDiversity(0);
    await harness.engine.setQuery('dragon magic');
    expect(
      harness
        .latest()
        .feed.map((f) => f.id)
        .sort(),
    ).toEqual(['d1', 'd2']);
    await harness.engine.setDiversity(1);
    expect(harness.latest().diversity).toBe(1);
    expect(harness.latest().feed.map((f) => f.id)).not.toEqual(expect.arrayContaining(['d1', 'd2']));
    await expect(harness.engine.setDiversity(Number.NaN)).rejects.toThrow(/between 0 and 1/);
  });
});

describe('Engine search before the catalog is embedded', () => {
  it('keeps a full feed and applies the query as vectors arrive', async () => {
    const items: TestItem[] = Array.from({ length: 40 }, (_, i) => ({
      id: `b${i}`,
      title: i === 39 ? 'Dragon magic dragon' : `Robot planet ${i}`,
      popularity: 100 - i,
    }));
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
