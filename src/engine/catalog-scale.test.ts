import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../core/catalog';
import { decodeColumns, encodeColumns } from '../core/catalog-columns';
import { CatalogIndex } from '../core/catalog-index';
import { columnsUrl, encodeRowShard, rowShardUrl } from '../core/catalog-rows';
import { encodeIndexFile, indexFileUrl, textSignBits } from '../core/index/codes-file';
import { int8Rows } from '../core/index/rows';
import { decodeShard, encodeShardFromFloats, planShards, shardUrl } from '../core/index/shards';
import { encodeSign, signCodebook, type SignCodes } from '../core/index/sign';
import { memoryDirectory } from '../storage/opfs-vectors';
import { ColumnsCatalog } from './catalog-scale';
import type { ScaleStorage } from './scale';
import { startTestEngine, testCatalog, TEST_VOCABULARY, WordCountEncoder, type TestItem } from './testing/harness';

// A catalog named by its columns file: two vector shards (50,000 + 10,000 rows) and three row shards.
const n = 60_000;
const ROW_SHARD_ITEMS = 25_000;
const items: TestItem[] = Array.from({ length: n }, (_, i) => ({
  id: `i${i}`,
  title: `${TEST_VOCABULARY[i % 10]} ${TEST_VOCABULARY[Math.floor(i / 10) % 10]} number ${i}`,
  byline: `Writer ${i % 977}`,
  genres: [`genre-${i % 7}`],
  popularity: 1000 + ((i * 7919) % 1000),
}));
const jsonUrl = '/shop.json';

/** The publisher's files for `items` (as `npm run catalog -- --embeddings` writes them), keyed by URL. */
async function publish(): Promise<Map<string, Uint8Array>> {
  const encoder = new WordCountEncoder();
  const parsed = parseCatalogText(testCatalog(items)).items;
  const catalog = new CatalogIndex(parsed);
  const files = new Map<string, Uint8Array>();
  const columnsBytes = await encodeColumns({ name: 'Columns shop', rowShardItems: ROW_SHARD_ITEMS }, parsed);
  files.set(columnsUrl(jsonUrl), columnsBytes);
  const columns = await decodeColumns(columnsBytes);
  for (let shard = 0; shard * ROW_SHARD_ITEMS < n; shard++) {
    files.set(rowShardUrl(jsonUrl, shard), await encodeRowShard(columns, shard, parsed.slice(shard * ROW_SHARD_ITEMS, (shard + 1) * ROW_SHARD_ITEMS)));
  }
  const fingerprint = catalog.fingerprint();
  const dim = encoder.dimension;
  const book = signCodebook(dim, textSignBits(dim), 7);
  const width = book.bits / 8;
  const codes: SignCodes = { codes: new Uint8Array(n * width), scales: new Float32Array(n), norms: new Float32Array(n) };
  const plan = planShards(n);
  for (const p of plan) {
    const vectors = await encoder.embedBatch(catalog.texts.slice(p.itemStart, p.itemStart + p.itemCount));
    const bytes = await encodeShardFromFloats(
      { modelId: encoder.id, catalogFingerprint: fingerprint, shard: p.shard, shards: plan.length, itemStart: p.itemStart, totalItems: n },
      vectors.map((vector, r) => ({ textHash: catalog.hashes[p.itemStart + r]!, vector })),
      dim,
    );
    files.set(shardUrl(jsonUrl, encoder.id, p.shard), bytes);
    const shard = await decodeShard(bytes, { modelId: encoder.id, catalogFingerprint: fingerprint, shard: p.shard });
    const part = encodeSign(book, int8Rows(shard.codes, shard.scales, dim));
    codes.codes.set(part.codes, p.itemStart * width);
    codes.scales.set(part.scales, p.itemStart);
    codes.norms.set(part.norms, p.itemStart);
  }
  files.set(
    indexFileUrl(jsonUrl, encoder.id, 'text'),
    await encodeIndexFile({ vectors: 'text', modelId: encoder.id, catalogFingerprint: fingerprint }, { kind: 'sign', codebook: book, codes }),
  );
  return files;
}

/** OPFS in memory (directories of files), served files and the requests made, as one engine sees them. */
function scaleStorage(files: Map<string, Uint8Array>, dirs: Map<string, Map<string, Uint8Array>>, requests: string[]): ScaleStorage {
  return {
    directory: async (path) => {
      const key = path.join('/');
      if (!dirs.has(key)) dirs.set(key, new Map());
      return memoryDirectory(dirs.get(key)!, new Set());
    },
    removeAll: async () => dirs.clear(),
    fetch: (async (input: RequestInfo | URL) => {
      requests.push(String(input));
      const file = files.get(String(input));
      return file ? new Response(file.slice(), { status: 200, headers: { ETag: '"e"' } }) : new Response('missing', { status: 404 });
    }) as typeof fetch,
  };
}

describe('a catalog held as columns', () => {
  it('answers by index as the catalog held whole does, and reads rows only for the items asked for', async () => {
    const files = await publish();
    const columns = await decodeColumns(files.get(columnsUrl(jsonUrl))!);
    const whole = new CatalogIndex(parseCatalogText(testCatalog(items)).items);
    const catalog = new ColumnsCatalog(columns);
    expect(catalog.size).toBe(n);
    expect(catalog.fingerprint()).toBe(whole.fingerprint());
    expect(Array.from(catalog.popularity)).toEqual(Array.from(whole.popularity));
    for (const i of [0, 1, 12_345, n - 1]) {
      expect(catalog.indexOf(`i${i}`)).toBe(i);
      expect(catalog.textHash(i)).toBe(whole.textHash(i));
    }
    expect([...catalog.genreBooks()].sort()).toEqual([...whole.genreBooks()].sort());
    // No row stored: a stand-in (no byline) and no text to embed.
    catalog.load([5]);
    expect(catalog.items[5]).toMatchObject({ id: 'i5', title: items[5]!.title, genres: ['genre-5'] });
    expect(catalog.items[5]!.byline).toBeUndefined();
    expect(catalog.items[6]).toBeUndefined();
    expect(catalog.text(5)).toBeUndefined();
  });

  it('starts from `<catalog>.columns`: a first feed, rows and vectors downloaded into OPFS, a like re-ranks, a returning visit fetches no shard', async () => {
    const files = await publish();
    const dirs = new Map<string, Map<string, Uint8Array>>();
    const requests: string[] = [];
    const overrides = (storage: ScaleStorage) => ({
      scaleStorage: storage,
      fetchBytes: async (url: string) => (requests.push(url), files.get(url)),
      // The catalog's JSON is never asked for.
      fetchText: async (url: string): Promise<string> => {
        throw new Error(`fetched ${url}`);
      },
    });
    const config = { catalogUrl: columnsUrl(jsonUrl) };
    const first = await startTestEngine(items, {
      feedSize: 10,
      overrides: overrides(scaleStorage(files, dirs, requests)),
      config,
      databaseName: `columns-${Date.now()}`,
    });
    expect(first.latest().phase).toBe('ready');
    expect(first.latest().catalog).toMatchObject({ name: 'Columns shop', size: n });
    expect(first.latest().feed).toHaveLength(10);
    // The vectors, then the rows: the feed's cards get their bylines from the rows.
    await expect.poll(async () => (await first.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    await expect.poll(() => requests.filter((url) => url.includes('.rows-')).length, { timeout: 60_000 }).toBe(3);
    // The rows' download has its own progress on the status line (bytes, then time left), cleared at the end.
    expect(first.snapshots.some((snapshot) => /^Downloading the catalog's texts: [\d.]+ (KB|MB) of [\d.]+ (KB|MB)/.test(snapshot.activity ?? ''))).toBe(true);
    await expect.poll(() => first.latest().activity ?? '', { timeout: 30_000 }).not.toMatch(/Downloading/);
    await first.engine.setQuery('');
    await expect.poll(() => first.latest().feed.every((item) => item.byline?.startsWith('Writer ')), { timeout: 30_000 }).toBe(true);
    expect(first.latest().warnings).toEqual([]);

    const dragon = items.find((item) => item.title.startsWith('dragon dragon'))!;
    await first.engine.record('like', dragon.id);
    const feed = first.latest().feed;
    expect(feed.map((item) => item.id)).not.toContain(dragon.id);
    expect(feed.filter((item) => item.title.includes('dragon')).length).toBeGreaterThanOrEqual(8);

    // A returning visit: the columns again (the catalog itself), nothing else from the network.
    requests.length = 0;
    const returning = await startTestEngine(items, {
      feedSize: 10,
      overrides: overrides(scaleStorage(files, dirs, requests)),
      config,
      databaseName: `columns-2-${Date.now()}`,
    });
    await expect.poll(async () => (await returning.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    await expect.poll(() => returning.latest().feed.every((item) => item.byline?.startsWith('Writer ')), { timeout: 30_000 }).toBe(true);
    expect(requests.filter((url) => !url.endsWith('.columns') && !url.endsWith('.co-liked'))).toEqual([]);
    await returning.engine.eraseAll();
    expect(dirs.size).toBe(0);
  }, 120_000);

  it('a quota that holds the vectors but not the texts: the rows are refused with a warning naming the sizes, the like kept', async () => {
    const files = await publish();
    const requests: string[] = [];
    // The vectors (60,000 rows of the test encoder's dimension, ~5 MB) fit; three row shards of ~2.5 MB do not.
    const rowBytes = files.get(rowShardUrl(jsonUrl, 0))!.length;
    const quota = 3 * rowBytes;
    const engine = await startTestEngine(items, {
      feedSize: 10,
      overrides: {
        scaleStorage: scaleStorage(files, new Map(), requests),
        fetchBytes: async (url: string) => (requests.push(url), files.get(url)),
        estimateStorage: async () => ({ usage: 0, quota }),
      },
      config: { catalogUrl: columnsUrl(jsonUrl) },
      databaseName: `columns-quota-${Date.now()}`,
    });
    await engine.engine.record('like', items[7]!.id);
    await expect
      .poll(() => JSON.stringify(engine.latest().warnings), { timeout: 60_000 })
      .toMatch(/Not enough storage for the catalog's texts: [\d.]+ MB needed, [\d.]+ MB free/);
    expect((await engine.engine.storageReport()).vectorFiles?.count).toBe(n);
    // Only the first row shard was asked for (its size is what the check needs), and none was stored.
    expect(requests.filter((url) => url.includes('.rows-'))).toEqual([rowShardUrl(jsonUrl, 0)]);
    expect(engine.latest().feed.every((item) => item.byline === undefined)).toBe(true);
    expect(engine.latest().historySize).toBe(1);
    await expect.poll(() => engine.latest().activity ?? '', { timeout: 30_000 }).not.toMatch(/Downloading/);
  }, 120_000);
});
