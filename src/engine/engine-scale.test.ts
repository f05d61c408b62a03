import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../core/catalog';
import { CatalogIndex } from '../core/catalog-index';
import { encodeIndexFile, indexFileUrl, textSignBits } from '../core/index/codes-file';
import { int8Rows } from '../core/index/rows';
import { decodeShard, encodeShardFromFloats, planShards, shardUrl } from '../core/index/shards';
import { encodeSign, signCodebook, type SignCodes } from '../core/index/sign';
import { memoryDirectory } from '../storage/opfs-vectors';
import type { ScaleStorage } from './scale';
import { startTestEngine, testCatalog, TEST_VOCABULARY, WordCountEncoder, type TestItem } from './testing/harness';

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
  files.set(indexFileUrl(catalogUrl, encoder.id, 'text'), await encodeIndexFile({ vectors: 'text', modelId: encoder.id, catalogFingerprint: fingerprint }, { kind: 'sign', codebook: book, codes }));
  return files;
}

/** OPFS in memory: each engine (a page's worker) opens its own handles on the same files. */
function scaleStorage(files: Map<string, Uint8Array>, dirs: Map<string, Map<string, Uint8Array>>, requests: string[]): ScaleStorage {
  return {
    directory: async (path) => {
      const key = path.join('/');
      if (!dirs.has(key)) dirs.set(key, new Map());
      return memoryDirectory(dirs.get(key)!);
    },
    removeAll: async () => dirs.clear(),
    fetch: (async (input: RequestInfo | URL) => {
      requests.push(String(input));
      const file = files.get(String(input));
      return file ? new Response(file.slice(), { status: 200, headers: { ETag: '"e"' } }) : new Response('missing', { status: 404 });
    }) as typeof fetch,
  };
}

describe('the engine at catalog scale', () => {
  it('ranks 60,000 items from shards in OPFS: a first feed, a like re-ranks it, a returning visit fetches nothing, erase removes the rows', async () => {
    const files = await publish();
    const dirs = new Map<string, Map<string, Uint8Array>>();
    const requests: string[] = [];
    const overrides = {
      scaleStorage: scaleStorage(files, dirs, requests),
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
    const vectorFiles = (list: string[]) => list.filter((url) => url.includes('.shard-') || url.endsWith('-index'));
    expect(vectorFiles(requests).sort()).toEqual([...files.keys()].sort());
    expect((await first.engine.storageReport()).vectorFiles!.bytes).toBeGreaterThan(n * 15);

    // A like of a "dragon" item: the feed turns to dragons (found by the index among 60,000).
    const dragon = items.find((item) => item.title.startsWith('dragon dragon'))!;
    await first.engine.record('like', dragon.id);
    const feed = first.latest().feed;
    expect(feed.map((item) => item.id)).not.toContain(dragon.id);
    expect(feed.filter((item) => item.title.includes('dragon')).length).toBeGreaterThanOrEqual(8);
    expect(feed[0]!.title).toContain('dragon');

    // A returning visit on the same storage: the codes and rows from OPFS, nothing from the network.
    requests.length = 0;
    const returning = await startTestEngine(items, { feedSize: 10, overrides: { ...overrides, scaleStorage: scaleStorage(files, dirs, requests) }, databaseName: `${databaseName}-2` });
    await expect.poll(async () => (await returning.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    expect(vectorFiles(requests)).toEqual([]);
    await returning.engine.eraseAll();
    expect(dirs.size).toBe(0);
  }, 120_000);
});
