import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { removeVectorFiles, type ScaleStorage } from './scale';
import { linkedTabs, startTestEngine, type TestItem } from './testing/harness';
import { memoryOpfs, publishShards, scaleItems, scaleStorage } from './testing/scale-engine-fixture';

// Above SCALE_MIN_ITEMS (50,000): two shards, of 50,000 and 10,000 rows.
const n = 60_000;
const items: TestItem[] = scaleItems(n);
const catalogUrl = '/catalog.json';
const publish = () => publishShards(items, catalogUrl);

const vectorFiles = (list: string[]) => list.filter((url) => url.includes('.shard-') || url.endsWith('-index'));

describe('the engine at catalog scale', () => {
  it('ranks 60,000 items from shards in OPFS: a first feed, a like re-ranks it, a returning visit fetches nothing, erase removes the rows', async () => {
    const files = await publish();
    const opfs = memoryOpfs();
    const requests: string[] = [];
    const overrides = {
      scaleStorage: scaleStorage(files, opfs, requests),
      fetchBytes: async (url: string) => {
        requests.push(url);
        return files.get(url);
      },
    };
    const databaseName = `engine-scale-${Date.now()}`;
    const first = await startTestEngine(items, { feedSize: 10, overrides, databaseName });
    expect(first.latest().feed).toHaveLength(10);
    // The codes and both shards, stored; the status line said how far the download was.
    await expect.poll(async () => (await first.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    expect(first.snapshots.some((s) => /^Downloading the catalog's vectors: /.test(s.activity ?? ''))).toBe(true);
    expect(vectorFiles(requests).sort()).toEqual([...files.keys()].sort());
    expect((await first.engine.storageReport()).vectorFiles!.bytes).toBeGreaterThan(n * 15);

    // A query naming one title ("number 43210": "number" is in every title) leads the feed with it: at
    // scale through the titles' word index, as BM25 over every text did (the same result, checked).
    await first.engine.setQuery('number 43210');
    expect(first.latest().feed[0]!.id).toBe('i43210');
    await first.engine.setQuery('');

    // A like of a "dragon" item: the feed turns to dragons (found by the index among 60,000).
    const dragon = items.find((item) => item.title.startsWith('dragon dragon'))!;
    await first.engine.record('like', dragon.id);
    const feed = first.latest().feed;
    expect(feed.map((item) => item.id)).not.toContain(dragon.id);
    expect(feed.filter((item) => item.title.includes('dragon')).length).toBeGreaterThanOrEqual(8);
    expect(feed[0]!.title).toContain('dragon');

    // A returning visit on the same storage: the codes and rows from OPFS, nothing from the network.
    requests.length = 0;
    const returning = await startTestEngine(items, {
      feedSize: 10,
      overrides: { ...overrides, scaleStorage: scaleStorage(files, opfs, requests) },
      databaseName: `${databaseName}-2`,
    });
    await expect.poll(async () => (await returning.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    expect(vectorFiles(requests)).toEqual([]);
    await returning.engine.eraseAll();
    expect(opfs.dirs.size).toBe(0);
  }, 120_000);

  it('asks the page for persistent storage before the first download and waits for its answer; a visit with everything stored does not ask', async () => {
    const files = await publish();
    const opfs = memoryOpfs();
    const requests: string[] = [];
    const overrides = (storage: ScaleStorage) => ({ scaleStorage: storage, fetchBytes: async (url: string) => (requests.push(url), files.get(url)) });
    const config = { pageAsksPersistence: true };
    const first = await startTestEngine(items, { feedSize: 10, overrides: overrides(scaleStorage(files, opfs, requests)), config });
    const asked = await first.until((s) => s.persistenceWanted === true, 10_000);
    expect(asked.phase).toBe('ready');
    // Nothing is requested while the page has not answered (PERSISTENCE_WAIT_MS is 10 s).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(vectorFiles(requests)).toEqual([]);
    await first.engine.persistenceAnswered();
    await expect.poll(async () => (await first.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    expect(vectorFiles(requests).sort()).toEqual([...files.keys()].sort());

    // Codes and every shard stored: no download, no question.
    const returning = await startTestEngine(items, { feedSize: 10, overrides: overrides(scaleStorage(files, opfs, requests)), config });
    await expect.poll(async () => (await returning.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    expect(returning.snapshots.some((s) => s.persistenceWanted)).toBe(false);
  }, 120_000);

  it("erases the vectors another tab holds open: that tab lets go on the erase's message, and the erase tries again", async () => {
    const files = await publish();
    const opfs = memoryOpfs();
    const requests: string[] = [];
    const databaseName = `engine-scale-tabs-${Date.now()}`;
    // Two tabs of the app (linkedTabs); OPFS's handles are exclusive.
    const channel = linkedTabs();
    const tab = (index: number) =>
      startTestEngine(items, {
        feedSize: 10,
        databaseName,
        overrides: {
          scaleStorage: scaleStorage(files, opfs, requests, true),
          fetchBytes: async (url: string) => files.get(url),
          ...channel(index),
        },
      });
    const holder = await tab(0);
    await expect.poll(async () => (await holder.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    // The second tab cannot open the files the first holds (it says why) and still shows a feed.
    const eraser = await tab(1);
    expect(eraser.latest().feed).toHaveLength(10);
    // It shows popularity and its own rows rather than reading all 60,000 items on the device.
    await eraser.until((s) => s.backend !== undefined, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(eraser.snapshots.filter((s) => s.embedding !== undefined)).toEqual([]);
    expect(eraser.latest().warnings.map((w) => w.code)).toContain('prebuiltIgnored');
    expect([...opfs.held.values()].some((names) => names.size > 0)).toBe(true);
    await eraser.engine.eraseAll();
    expect(holder.latest().reloadReason).toMatch(/erased in another tab/);
    expect([...opfs.held.values()].every((names) => names.size === 0)).toBe(true);
    expect(opfs.dirs.size).toBe(0);
    expect(opfs.marked).toBe(false);
  }, 120_000);

  it('marks the vectors for the next start when a holder never lets go, and that start removes them before reading', async () => {
    const opfs = memoryOpfs();
    opfs.dirs.set('vectors/x', new Map([['rows.bin', new Uint8Array(8)]]));
    opfs.held.set('vectors/x', new Set(['rows.bin']));
    const storage = scaleStorage(new Map(), opfs, [], true);
    let waits = 0;
    expect(await removeVectorFiles(storage, async () => void waits++)).toBe(false);
    expect(waits).toBeGreaterThan(0);
    expect(opfs.marked).toBe(true);
    expect(opfs.dirs.size).toBe(1);
    // The next visit, the holder gone: the marked files are removed before the catalog's are opened.
    opfs.held.clear();
    await storage.removePending!();
    expect(opfs.dirs.size).toBe(0);
    expect(opfs.marked).toBe(false);
  });
});
