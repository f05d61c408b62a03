import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../core/random';
import { encodeShardFromFloats, planShards, shardUrl } from '../core/index/shards';
import { memoryDirectory, partName, VectorStore, type VectorIdentity } from '../storage/opfs-vectors';
import { StallError, STALL_TRIES } from './scale-download';
import { fetchShards, QuotaError, type ShardProgress } from './shard-fetch';

const dim = 8;
const perShard = 40;
const total = 100; // three shards: 40, 40, 20
const catalogUrl = 'https://shop.test/catalog/shop.json';
const identity: VectorIdentity = { modelId: 'use-lite-512', catalogFingerprint: 'fp', totalItems: total, dimension: dim };
const expected = { modelId: 'use-lite-512', catalogFingerprint: 'fp', totalItems: total, dimension: dim };

async function buildShards(options: { modelId?: string } = {}): Promise<Map<string, Uint8Array>> {
  const normal = gaussianSource(seededUniform(5));
  const files = new Map<string, Uint8Array>();
  for (const p of planShards(total, perShard)) {
    const rows = Array.from({ length: p.itemCount }, (_, r) => ({
      textHash: (p.itemStart + r).toString(16).padStart(16, '0'),
      vector: Float32Array.from({ length: dim }, () => normal()),
    }));
    const bytes = await encodeShardFromFloats(
      { modelId: options.modelId ?? 'use-lite-512', catalogFingerprint: 'fp', shard: p.shard, shards: 3, itemStart: p.itemStart, totalItems: total },
      rows,
      dim,
    );
    files.set(shardUrl(catalogUrl, 'use-lite-512', p.shard), bytes);
  }
  return files;
}

interface Served {
  fetch: typeof fetch;
  requests: { url: string; range?: string; ifRange?: string }[];
}

/**
 * Requests of `url` that go silent: the first `times` of them send `after` bytes of their body and then
 * nothing (or, with `headers`, not even the response), until the request is aborted.
 */
interface Stall {
  url: string;
  times: number;
  after?: number;
  headers?: boolean;
}

/** A server of `files` that honours Range (206) unless told not to, and can cut a response after `cutAfter` bytes or stall it. */
function server(files: Map<string, Uint8Array>, options: { ranges?: boolean; cutAfter?: number; etag?: string; stall?: Stall } = {}): Served {
  const requests: Served['requests'] = [];
  let stalls = 0;
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const headers = new Headers(init?.headers);
    requests.push({
      url,
      ...(headers.get('Range') ? { range: headers.get('Range')! } : {}),
      ...(headers.get('If-Range') ? { ifRange: headers.get('If-Range')! } : {}),
    });
    const signal = init?.signal ?? undefined;
    const stall = options.stall?.url === url && stalls < options.stall.times ? (stalls++, options.stall) : undefined;
    // Nothing until aborted, as fetch rejects with the signal's reason.
    const silence = () =>
      new Promise<never>((_, reject) => {
        if (signal?.aborted) reject(signal.reason);
        signal?.addEventListener('abort', () => reject(signal.reason));
      });
    if (stall?.headers) return silence();
    const file = files.get(url);
    if (!file) return new Response('missing', { status: 404 });
    const range = /^bytes=(\d+)-$/.exec(headers.get('Range') ?? '');
    const from = range && options.ranges !== false && (!headers.get('If-Range') || headers.get('If-Range') === (options.etag ?? '"e1"')) ? Number(range[1]) : 0;
    const body = file.subarray(from);
    const cut = options.cutAfter;
    let at = 0;
    // Pulled 64 bytes at a time, so a cut connection fails after the bytes before it were read.
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (stall && from + at >= (stall.after ?? 0)) await silence().catch((reason: unknown) => controller.error(reason));
        else if (cut !== undefined && at >= cut) controller.error(new TypeError('network error'));
        else if (at >= body.length) controller.close();
        else {
          controller.enqueue(body.slice(at, at + 64));
          at += 64;
        }
      },
    });
    return new Response(stream, {
      status: from > 0 ? 206 : 200,
      headers: { ETag: options.etag ?? '"e1"', ...(from > 0 ? { 'Content-Range': `bytes ${from}-${file.length - 1}/${file.length}` } : {}) },
    });
  }) as typeof fetch;
  return { fetch: fetchImpl, requests };
}

const plenty = async () => ({ usage: 0, quota: 1e9 });

describe('fetchShards', () => {
  it("stores every shard's rows where they belong, records them done, and reports progress to the end", async () => {
    const files = await buildShards();
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, identity);
    const progress: ShardProgress[] = [];
    const seenRows: number[] = [];
    const result = await fetchShards({
      catalogUrl,
      expected,
      store,
      perShard,
      fetch: server(files).fetch,
      estimate: plenty,
      onProgress: (p) => progress.push(p),
      onRows: (r) => seenRows.push(r.itemStart, r.textHashes.length),
    });
    expect(result.fetched).toEqual([0, 1, 2]);
    expect(result.refused).toEqual([]);
    expect([...store.done].sort()).toEqual([0, 1, 2]);
    expect(seenRows).toEqual([0, 40, 40, 40, 80, 20]);
    const last = progress[progress.length - 1]!;
    expect(last.shardsDone).toBe(3);
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(progress.some((p) => p.bytesDone > 0 && p.bytesDone < p.bytesTotal)).toBe(true);
    // Row 85 is the 6th row of shard 2.
    const codes = new Int8Array(dim);
    const scales = new Float32Array(1);
    store.readRows([85], codes, scales);
    const { decodeShard } = await import('../core/index/shards');
    const shard2 = await decodeShard(files.get(shardUrl(catalogUrl, 'use-lite-512', 2))!, expected);
    expect(scales[0]).toBe(shard2.scales[5]);
    expect(Array.from(codes)).toEqual(Array.from(shard2.codes.subarray(5 * dim, 6 * dim)));
    // A second run downloads nothing.
    const again = server(files);
    expect((await fetchShards({ catalogUrl, expected, store, perShard, fetch: again.fetch, estimate: plenty })).present).toEqual([0, 1, 2]);
    expect(again.requests).toEqual([]);
  });

  it('refuses a download the quota cannot hold before asking for any byte, saying how much is needed', async () => {
    const files = await buildShards();
    const store = await VectorStore.open(memoryDirectory(), identity);
    const served = server(files);
    const error = await fetchShards({ catalogUrl, expected, store, perShard, fetch: served.fetch, estimate: async () => ({ usage: 900, quota: 1000 }) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QuotaError);
    expect((error as QuotaError).message).toMatch(/Not enough storage.*needed.*free/);
    expect((error as QuotaError).available).toBe(100);
    expect(served.requests).toEqual([]);
  });

  it('counts the texts that follow (alsoStoring) in the same check: room for the vectors alone is refused before any byte', async () => {
    const files = await buildShards();
    // The vectors alone need (100 rows × 12 B + the largest shard's 1,824 B) × 1.1 = 3,327 B: they fit in 5,000.
    const quota = async () => ({ usage: 0, quota: 5000 });
    const texts = { bytes: 4000, largest: 2000 };
    const served = server(files);
    const error = await fetchShards({
      catalogUrl,
      expected,
      store: await VectorStore.open(memoryDirectory(), identity),
      perShard,
      fetch: served.fetch,
      estimate: quota,
      alsoStoring: async () => texts,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaError);
    expect((error as QuotaError).message).toMatch(/^Not enough storage for the catalog's vectors and texts: 8 KB needed, 5 KB free/);
    expect((error as QuotaError).needed).toBe(Math.ceil((1200 + 4000 + 2000) * 1.1));
    expect(served.requests).toEqual([]);
    // Without the texts counted, the same quota takes the vectors.
    const alone = await fetchShards({
      catalogUrl,
      expected,
      store: await VectorStore.open(memoryDirectory(), identity),
      perShard,
      fetch: server(files).fetch,
      estimate: quota,
    });
    expect(alone.fetched).toEqual([0, 1, 2]);
  });

  it("does not ask for the texts' sizes when every vector shard is stored", async () => {
    const files = await buildShards();
    const store = await VectorStore.open(memoryDirectory(), identity);
    await fetchShards({ catalogUrl, expected, store, perShard, fetch: server(files).fetch, estimate: plenty });
    let asked = 0;
    const again = await fetchShards({
      catalogUrl,
      expected,
      store,
      perShard,
      fetch: server(files).fetch,
      estimate: async () => ({ usage: 0, quota: 1 }),
      alsoStoring: async () => (asked++, { bytes: 1e9, largest: 1e9 }),
    });
    expect(again.present).toEqual([0, 1, 2]);
    expect(asked).toBe(0);
  });

  it('resumes a cut download with a Range request from the bytes kept, and the rows come out whole', async () => {
    const files = await buildShards();
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, identity);
    // The first run's connection breaks 256 bytes into shard 0.
    const cut = server(files, { cutAfter: 256 });
    await expect(fetchShards({ catalogUrl, expected, store, perShard, fetch: cut.fetch, estimate: plenty })).rejects.toThrow(/network error/);
    expect(store.partial).toEqual({ shard: 0, bytes: 256, validator: '"e1"' });
    const resumed = server(files);
    const result = await fetchShards({ catalogUrl, expected, store, perShard, fetch: resumed.fetch, estimate: plenty });
    expect(result.fetched).toEqual([0, 1, 2]);
    expect(resumed.requests[0]).toEqual({ url: shardUrl(catalogUrl, 'use-lite-512', 0), range: 'bytes=256-', ifRange: '"e1"' });
    expect(resumed.requests.slice(1).every((r) => r.range === undefined)).toBe(true);
    expect(result.bytesReceived).toBe([...files.values()].reduce((sum, f) => sum + f.length, 0) - 256);
    expect(dir.files.has(partName(0))).toBe(false);
    expect(store.partial).toBeUndefined();
  });

  it('asks again from the bytes kept when a request goes silent (its body or its response), and gives up after STALL_TRIES silent requests in a row', async () => {
    const files = await buildShards();
    const url1 = shardUrl(catalogUrl, 'use-lite-512', 1);
    // Shard 1's first request sends 192 bytes, then nothing: the download must not wait for ever.
    for (const stall of [
      { url: url1, times: 1, after: 192 },
      { url: url1, times: 2, headers: true },
    ]) {
      const dir = memoryDirectory();
      const store = await VectorStore.open(dir, identity);
      const served = server(files, { stall });
      const progress: ShardProgress[] = [];
      const result = await fetchShards({
        catalogUrl,
        expected,
        store,
        perShard,
        fetch: served.fetch,
        estimate: plenty,
        stallMs: 50,
        onProgress: (p) => progress.push(p),
      });
      expect(result.fetched).toEqual([0, 1, 2]);
      expect(result.refused).toEqual([]);
      const asked = served.requests.filter((r) => r.url === url1);
      expect(asked).toHaveLength(stall.times + 1);
      // The bytes kept are continued, not fetched again.
      if (stall.after) expect(asked[1]).toEqual({ url: url1, range: `bytes=${stall.after}-`, ifRange: '"e1"' });
      else expect(asked.every((r) => r.range === undefined)).toBe(true);
      expect(result.bytesReceived).toBe([...files.values()].reduce((sum, f) => sum + f.length, 0));
      expect(progress[progress.length - 1]!.bytesDone).toBe(progress[progress.length - 1]!.bytesTotal);
      expect(dir.files.has(partName(1))).toBe(false);
    }
    // Silent every time: it stops with a StallError after STALL_TRIES requests, its bytes kept for the next visit.
    const store = await VectorStore.open(memoryDirectory(), identity);
    const silent = server(files, { stall: { url: url1, times: 99, after: 128 } });
    const error = await fetchShards({ catalogUrl, expected, store, perShard, fetch: silent.fetch, estimate: plenty, stallMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StallError);
    expect((error as Error).message).toMatch(/nothing received for/);
    // The first request received 128 bytes (a try that made progress), then STALL_TRIES silent ones in a row.
    expect(silent.requests.filter((r) => r.url === url1)).toHaveLength(STALL_TRIES);
    expect(store.partial).toEqual({ shard: 1, bytes: 128, validator: '"e1"' });
    expect([...store.done]).toEqual([0]);
  });

  it('stops at once when aborted, while a request is silent', async () => {
    const files = await buildShards();
    const store = await VectorStore.open(memoryDirectory(), identity);
    const controller = new AbortController();
    const silent = server(files, { stall: { url: shardUrl(catalogUrl, 'use-lite-512', 0), times: 1, after: 64 } });
    const run = fetchShards({ catalogUrl, expected, store, perShard, fetch: silent.fetch, estimate: plenty, signal: controller.signal });
    setTimeout(() => controller.abort(new DOMException('closed', 'AbortError')), 20);
    await expect(run).rejects.toThrow(/closed/);
    expect(store.partial).toEqual({ shard: 0, bytes: 64, validator: '"e1"' });
  });

  it('starts a shard again when the server ignores the range, or the file changed (If-Range)', async () => {
    const files = await buildShards();
    for (const options of [{ ranges: false }, { etag: '"e2"' }]) {
      const store = await VectorStore.open(memoryDirectory(), identity);
      await fetchShards({ catalogUrl, expected, store, perShard, fetch: server(files, { cutAfter: 128 }).fetch, estimate: plenty }).catch(() => undefined);
      const result = await fetchShards({ catalogUrl, expected, store, perShard, fetch: server(files, options).fetch, estimate: plenty });
      expect(result.fetched).toEqual([0, 1, 2]);
      expect(result.refused).toEqual([]);
      store.close();
    }
  });

  it('skips a shard for another model (from its header) and a damaged one (checksum), naming why; the others arrive', async () => {
    const files = await buildShards();
    const other = await buildShards({ modelId: 'minilm-384' });
    files.set(shardUrl(catalogUrl, 'use-lite-512', 1), other.get(shardUrl(catalogUrl, 'use-lite-512', 1))!);
    const damaged = new Uint8Array(files.get(shardUrl(catalogUrl, 'use-lite-512', 2))!);
    damaged[damaged.length - 1]! ^= 1;
    files.set(shardUrl(catalogUrl, 'use-lite-512', 2), damaged);
    const store = await VectorStore.open(memoryDirectory(), identity);
    const result = await fetchShards({ catalogUrl, expected, store, perShard, fetch: server(files).fetch, estimate: plenty });
    expect(result.fetched).toEqual([0]);
    expect(result.refused.map((r) => [r.shard, r.reason])).toEqual([
      [1, 'other-model'],
      [2, 'bad-checksum'],
    ]);
    expect(result.refused[0]!.message).toMatch(/minilm-384/);
    expect([...store.done]).toEqual([0]);
  });

  it('a 404 is refused as http and the rest still come', async () => {
    const files = await buildShards();
    files.delete(shardUrl(catalogUrl, 'use-lite-512', 0));
    const store = await VectorStore.open(memoryDirectory(), identity);
    const result = await fetchShards({ catalogUrl, expected, store, perShard, fetch: server(files).fetch, estimate: plenty });
    expect(result.refused).toEqual([{ shard: 0, reason: 'http', message: expect.stringMatching(/HTTP 404/) }]);
    expect(result.fetched).toEqual([1, 2]);
  });

  it('a storage call between two shards that never settles (removing the .part) stops the run with a StallError naming it, not a frozen line', async () => {
    const files = await buildShards();
    const dir = memoryDirectory();
    // OPFS's removeEntry that never answers (what the frozen "25.0 MB of 50.0 MB" line of docs/scale.md would be).
    const hanging = { open: dir.open.bind(dir), remove: (name: string) => (name === partName(0) ? new Promise<void>(() => {}) : dir.remove(name)) };
    const store = await VectorStore.open(hanging, identity);
    const requests: string[] = [];
    const served = server(files);
    const fetch = ((input: RequestInfo | URL, init?: RequestInit) => (requests.push(String(input)), served.fetch(input, init))) as typeof globalThis.fetch;
    const error = await fetchShards({ catalogUrl, expected, store, perShard, fetch, estimate: plenty, storageMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StallError);
    expect((error as Error).message).toMatch(/^Removing shard-0\.part did not finish in 0 s; the download goes on at the next visit/);
    // Shard 0 was stored before the call that hung; shard 1 was not asked for.
    expect(store.done).toEqual(new Set([0]));
    expect(requests).toEqual([shardUrl(catalogUrl, 'use-lite-512', 0)]);
  });

  it("opening the next shard's .part that never answers is asked once more (the stall of docs/scale.md); twice stops the run naming it", async () => {
    const files = await buildShards();
    const dir = memoryDirectory();
    // The first open of shard-1.part never settles (createSyncAccessHandle as seen in Chromium); the second does.
    let hangs = 1;
    const flaky = {
      open: (name: string, create: boolean) => (name === partName(1) && hangs-- > 0 ? new Promise<never>(() => {}) : dir.open(name, create)),
      remove: dir.remove.bind(dir),
    };
    const store = await VectorStore.open(flaky, identity);
    const result = await fetchShards({ catalogUrl, expected, store, perShard, fetch: server(files).fetch, estimate: plenty, storageMs: 50 });
    expect(result.fetched).toEqual([0, 1, 2]);
    store.close();
    // Twice: the run stops with a StallError naming the second open; the shards before it are stored.
    hangs = 2;
    const again = memoryDirectory();
    const stuck = await VectorStore.open(
      {
        ...flaky,
        open: (name, create) => (name === partName(1) && hangs-- > 0 ? new Promise<never>(() => {}) : again.open(name, create)),
        remove: again.remove.bind(again),
      },
      identity,
    );
    const error = await fetchShards({ catalogUrl, expected, store: stuck, perShard, fetch: server(files).fetch, estimate: plenty, storageMs: 50 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StallError);
    expect((error as Error).message).toMatch(/^Opening shard-1\.part again did not finish/);
    expect(stuck.done).toEqual(new Set([0]));
  });

  it('after eviction the store starts again and every shard is fetched again', async () => {
    const files = await buildShards();
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, identity);
    await fetchShards({ catalogUrl, expected, store, perShard, fetch: server(files).fetch, estimate: plenty });
    store.close();
    dir.files.delete('rows.bin');
    const reopened = await VectorStore.open(dir, identity);
    expect(reopened.rebuilt).toBe('evicted');
    const result = await fetchShards({ catalogUrl, expected, store: reopened, perShard, fetch: server(files).fetch, estimate: plenty });
    expect(result.fetched).toEqual([0, 1, 2]);
  });
});
