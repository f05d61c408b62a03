import { describe, expect, it } from 'vitest';
import { indexFileUrl } from '../core/index/codes-file';
import { shardUrl } from '../core/index/shards';
import { bruteForce, dotScorer, recall } from '../core/index/two-stage';
import { gaussianSource, seededUniform } from '../core/random';
import { normalized } from '../core/vector';
import { downloadActivity, ScalePath, SCALE_MIN_ITEMS, takesScalePath } from './scale';
import { TEXT_CANDIDATES, TEXT_CANDIDATES_HELD } from './scale-index';
import { catalogOf, catalogUrl, dim, hooks, modelId, n, publish, storage } from './testing/scale-fixture';

describe('ScalePath', () => {
  it('takes the scale path only for a fetched catalog above the publisher’s shard size, where OPFS is offered', () => {
    const s = storage();
    expect(takesScalePath(SCALE_MIN_ITEMS + 1, true, s)).toBe(true);
    expect(takesScalePath(10_000, true, s)).toBe(false);
    expect(takesScalePath(SCALE_MIN_ITEMS + 1, false, s)).toBe(false);
    expect(takesScalePath(SCALE_MIN_ITEMS + 1, true, undefined)).toBe(false);
  });

  it('downloads the codes and shards once; its pool holds the exact top 10 by taste; a returning visit reads them from storage', async () => {
    const catalog = catalogOf();
    const { files, vectors } = await publish(catalog);
    const s = storage();
    const requests: string[] = [];
    const path = await ScalePath.open(s, catalog, modelId, dim, []);
    expect(path.unindexed()).toHaveLength(n);
    await path.prepare(hooks(files, requests));
    expect(requests.sort()).toEqual([indexFileUrl(catalogUrl, modelId, 'text'), shardUrl(catalogUrl, modelId, 0)].sort());
    expect(path.storedRows()).toBe(n);
    expect(path.unindexed()).toEqual([]);
    expect(path.bytes()).toBeGreaterThan(n * (4 + dim));

    // Stage one + exact rescoring against the brute force over every stored row (the reference).
    const flat = new Float32Array(n * dim);
    vectors.forEach((v, i) => flat.set(v, i * dim));
    const normal = gaussianSource(seededUniform(4));
    let found = 0;
    for (let q = 0; q < 10; q++) {
      const direction = normalized(vectors[q * 11]!.map((x) => x + 0.05 * normal()));
      const truth = bruteForce(n, dotScorer(flat, dim, direction), 10).items;
      const pool = path.pool(direction, undefined, undefined, []);
      found += recall(truth, pool);
    }
    expect(found / 10).toBeGreaterThanOrEqual(0.95);

    // The pool's rows as read: int8 × scale, the same numbers as the shard's.
    const rows: (Float32Array | undefined)[] = new Array(n);
    expect(path.loadRows([5, 6], { rows, set: (i, row) => (rows[i] = row) }, new Set())).toBe(2);
    expect(Array.from(rows[5]!)).toEqual(Array.from(vectors[5]!));
    // The rows read for the exact scores are kept: the pool's rows are then read once.
    const cache: (Float32Array | undefined)[] = new Array(n);
    const sink = { rows: cache, set: (i: number, row: Float32Array | undefined) => (cache[i] = row) };
    const pool = path.pool(vectors[7]!, undefined, undefined, [], sink);
    // This store's rows are small enough to be held in memory (VectorStore's copy), so the search takes
    // TEXT_CANDIDATES_HELD candidates, each read for its exact score.
    // The pool takes the best TEXT_CANDIDATES of them: their rows are all kept, so only the rest of the
    // pool (popular items that were not candidates) is read now.
    expect(cache.filter(Boolean)).toHaveLength(TEXT_CANDIDATES_HELD);
    const unread = pool.filter((i) => !cache[i]).length;
    expect(pool.length - unread).toBeGreaterThanOrEqual(TEXT_CANDIDATES);
    expect(path.loadRows(pool, sink, new Set())).toBe(unread);
    expect(pool.every((i) => cache[i])).toBe(true);
    path.close();

    // A returning visit: nothing from the network.
    const again: string[] = [];
    const returning = await ScalePath.open(s, catalog, modelId, dim, []);
    await returning.prepare(hooks(files, again));
    expect(again).toEqual([]);
    expect(returning.search).toBeDefined();
    expect(returning.storedRows()).toBe(n);
    returning.close();
  });

  it('leaves out of the index the items whose text changed since the publisher’s build, and a refused shard’s items', async () => {
    const published = catalogOf();
    const { files } = await publish(published);
    // The same ids (same fingerprint), two texts changed: their stored rows are not theirs any more.
    const catalog = catalogOf([10, 20]);
    expect(catalog.fingerprint()).toBe(published.fingerprint());
    const path = await ScalePath.open(storage(), catalog, modelId, dim, []);
    await path.prepare(hooks(files, []));
    expect(path.unindexed()).toEqual([10, 20]);
    expect(path.indexed(10)).toBe(false);
    const pool = path.pool(normalized(Float32Array.from({ length: dim }, (_, t) => (t === 0 ? 1 : 0))), undefined, undefined, []);
    expect(pool).not.toContain(10);

    const damaged = new Map(files);
    const shard = damaged.get(shardUrl(catalogUrl, modelId, 0))!.slice();
    shard[shard.length - 1] = shard[shard.length - 1]! ^ 0xff;
    damaged.set(shardUrl(catalogUrl, modelId, 0), shard);
    const warnings: string[] = [];
    const refused = await ScalePath.open(storage(), published, modelId, dim, []);
    await refused.prepare(hooks(damaged, [], warnings));
    expect(refused.unindexed()).toHaveLength(n);
    expect(warnings.join()).toMatch(/prebuiltIgnored.*SHA-256|checksum/i);
  });

  it('refuses the download when the quota is short, with the history untouched and a warning', async () => {
    const catalog = catalogOf();
    const { files } = await publish(catalog);
    const warnings: string[] = [];
    const path = await ScalePath.open(storage(), catalog, modelId, dim, []);
    const requests: string[] = [];
    await path.prepare({ ...hooks(files, requests, warnings), estimate: async () => ({ usage: 0, quota: 1000 }) });
    expect(requests.filter((url) => url.endsWith('.emb'))).toEqual([]);
    expect(warnings.join()).toMatch(/Not enough storage/);
  });

  it('says bytes and time left while downloading', () => {
    expect(
      downloadActivity({ shard: 0, shardsDone: 0, shards: 2, bytesDone: 3 * 2 ** 20, bytesTotal: 50 * 2 ** 20, bytesPerSecond: 2 ** 20, secondsLeft: 47 }),
    ).toBe("Downloading the catalog's vectors: 3.0 MB of 50.0 MB, about 47 s left");
  });
});
