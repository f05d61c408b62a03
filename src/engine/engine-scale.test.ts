import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../core/catalog';
import { CatalogIndex } from '../core/catalog-index';
import { encodeIndexFile, indexFileUrl, textSignBits } from '../core/index/codes-file';
import { int8Rows } from '../core/index/rows';
import { decodeShard, encodeShardFromFloats, planShards, shardUrl } from '../core/index/shards';
import { encodeSign, signCodebook, type SignCodes } from '../core/index/sign';
import { memoryDirectory } from '../storage/opfs-vectors';
import { removeVectorFiles, type ScaleStorage } from './scale';
import { linkedTabs, startTestEngine, testCatalog, TEST_VOCABULARY, WordCountEncoder, type TestItem } from './testing/harness';

// Above SCALE_MIN_ITEMS (50,000): two shards, of 50,000 and 10,000 rows.
const n = 60_000;
const items: TestItem[] = Array.from({ length: n }, (_, i) => ({
  id: `i${i}`,
  title: `${TEST_VOCABULARY[i % 10]} ${TEST_VOCABULARY[Math.floor(i / 10) % 10]} number ${i}`,
  popularity: 1000 + ((i * 7919) % 1000),
}));
const catalogUrl = '/catalog.json';

/** The publisher's files for `items` (as cli/build-shards.ts writes them) with the test encoder. */
async function publish(): Promise<Map<string, Uint8Array>> {
  const encoder = new WordCountEncoder();
  const catalog = new CatalogIndex(parseCatalogText(testCatalog(items)).items);
  const fingerprint = catalog.fingerprint();
  const dim = encoder.dimension;
  const book = signCodebook(dim, textSignBits(dim), 7);
  const width = book.bits / 8;
  const codes: SignCodes = { codes: new Uint8Array(n * width), scales: new Float32Array(n), norms: new Float32Array(n) };
  const files = new Map<string, Uint8Array>();
  const plan = planShards(n);
  for (const p of plan) {
    const texts = catalog.texts.slice(p.itemStart, p.itemStart + p.itemCount);
    const vectors = await encoder.embedBatch(texts);
    const bytes = await encodeShardFromFloats(
      { modelId: encoder.id, catalogFingerprint: fingerprint, shard: p.shard, shards: plan.length, itemStart: p.itemStart, totalItems: n },
      vectors.map((vector, r) => ({ textHash: catalog.hashes[p.itemStart + r]!, vector })),
      dim,
    );
    files.set(shardUrl(catalogUrl, encoder.id, p.shard), bytes);
    const shard = await decodeShard(bytes, { modelId: encoder.id, catalogFingerprint: fingerprint, shard: p.shard });
    const part = encodeSign(book, int8Rows(shard.codes, shard.scales, dim));
    codes.codes.set(part.codes, p.itemStart * width);
    codes.scales.set(part.scales, p.itemStart);
    codes.norms.set(part.norms, p.itemStart);
  }
  files.set(
    indexFileUrl(catalogUrl, encoder.id, 'text'),
    await encodeIndexFile({ vectors: 'text', modelId: encoder.id, catalogFingerprint: fingerprint }, { kind: 'sign', codebook: book, codes }),
  );
  return files;
}

/** OPFS in memory, as the directories' files and the names held open in each, plus erase's mark. */
interface MemoryOpfs {
  dirs: Map<string, Map<string, Uint8Array>>;
  held: Map<string, Set<string>>;
  marked: boolean;
}

const memoryOpfs = (): MemoryOpfs => ({ dirs: new Map(), held: new Map(), marked: false });

/**
 * One engine's (a page's worker's) view of `opfs`. `exclusive`: a file open in one engine cannot be
 * opened or removed by another, as with OPFS's sync access handles; otherwise each engine has its own.
 */
function scaleStorage(files: Map<string, Uint8Array>, opfs: MemoryOpfs, requests: string[], exclusive = false): ScaleStorage {
  const own = new Map<string, Set<string>>();
  const heldIn = (key: string) => {
    const sets = exclusive ? opfs.held : own;
    if (!sets.has(key)) sets.set(key, new Set());
    return sets.get(key)!;
  };
  const removeAll = async () => {
    if ([...opfs.held.values()].some((names) => names.size > 0)) throw new DOMException('a file is open', 'NoModificationAllowedError');
    opfs.dirs.clear();
  };
  return {
    directory: async (path) => {
      const key = path.join('/');
      if (!opfs.dirs.has(key)) opfs.dirs.set(key, new Map());
      return memoryDirectory(opfs.dirs.get(key)!, heldIn(key));
    },
    removeAll,
    markForRemoval: async () => {
      opfs.marked = true;
    },
    removePending: async () => {
      if (!opfs.marked) return;
      await removeAll();
      opfs.marked = false;
    },
    fetch: (async (input: RequestInfo | URL) => {
      requests.push(String(input));
      const file = files.get(String(input));
      return file ? new Response(file.slice(), { status: 200, headers: { ETag: '"e"' } }) : new Response('missing', { status: 404 });
    }) as typeof fetch,
  };
}

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
