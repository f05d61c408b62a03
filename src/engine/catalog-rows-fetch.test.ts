import { describe, expect, it } from 'vitest';
import type { CatalogItem } from '../core/catalog';
import { decodeColumns, encodeColumns, type CatalogColumns } from '../core/catalog-columns';
import { encodeRowShard, rowShardUrl } from '../core/catalog-rows';
import { memoryDirectory } from '../storage/opfs-vectors';
import { CatalogRowFiles, rowFileName, rowPartName } from '../storage/opfs-vectors-rows';
import { fetchRowShards } from './catalog-rows-fetch';
import { QuotaError, type ShardProgress } from './shard-fetch';

const PER = 40;
const N = 100; // three row shards: 40, 40, 20
const catalogUrl = 'https://shop.test/catalog/shop.json';
const list: CatalogItem[] = Array.from({ length: N }, (_, i) => ({
  id: `p${i}`,
  title: `Title ${i}`,
  text: `Title ${i}, a story${' of words'.repeat(i % 7)}`,
  byline: `Writer ${i % 9}`,
  popularity: i,
}));

async function publish(): Promise<{ columns: CatalogColumns; files: Map<string, Uint8Array> }> {
  const columns = await decodeColumns(await encodeColumns({ name: 'shop', rowShardItems: PER }, list));
  const files = new Map<string, Uint8Array>();
  for (let shard = 0; shard * PER < N; shard++)
    files.set(rowShardUrl(catalogUrl, shard), await encodeRowShard(columns, shard, list.slice(shard * PER, (shard + 1) * PER)));
  return { columns, files };
}

interface Asked {
  url: string;
  range?: string;
}

/**
 * A server of `files` that honours Range, with Content-Length; `cut`: the first request of that URL
 * breaks after `after` bytes (a lost connection); `silent`: it sends `after` bytes and then nothing.
 */
function server(files: Map<string, Uint8Array>, trouble?: { url: string; after: number; kind: 'cut' | 'silent' }) {
  const requests: Asked[] = [];
  let troubled = false;
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const range = new Headers(init?.headers).get('Range');
    requests.push({ url, ...(range ? { range } : {}) });
    const file = files.get(url);
    if (!file) return new Response('missing', { status: 404 });
    const from = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
    const body = file.subarray(from);
    const bad = trouble?.url === url && !troubled ? ((troubled = true), trouble) : undefined;
    const signal = init?.signal ?? undefined;
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (bad && at >= bad.after) {
          if (bad.kind === 'cut') controller.error(new TypeError('network error'));
          else
            await new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))).catch((reason: unknown) =>
              controller.error(reason),
            );
        } else if (at >= body.length) controller.close();
        else {
          controller.enqueue(body.slice(at, at + 256));
          at += 256;
        }
      },
    });
    return new Response(stream, {
      status: from > 0 ? 206 : 200,
      headers: {
        ETag: '"r1"',
        'Content-Length': String(body.length),
        ...(from > 0 ? { 'Content-Range': `bytes ${from}-${file.length - 1}/${file.length}` } : {}),
      },
    });
  }) as typeof fetch;
  return { fetch: fetchImpl, requests };
}

const plenty = async () => ({ usage: 0, quota: 1e9 });
const quiet = { onShard: () => {}, warn: (message: string) => expect.fail(message) };

describe('fetchRowShards', () => {
  it('downloads every row shard with progress in bytes to the end; a second visit asks for nothing', async () => {
    const { columns, files } = await publish();
    const disk = new Map<string, Uint8Array>();
    const { store } = await CatalogRowFiles.open(memoryDirectory(disk), columns);
    const progress: ShardProgress[] = [];
    const served = server(files);
    const result = await fetchRowShards({ catalogUrl, files: store, fetch: served.fetch, estimate: plenty, onProgress: (p) => progress.push(p), ...quiet });
    expect(result.fetched).toEqual([0, 1, 2]);
    expect(store.rows.item(85)).toEqual(list[85]);
    const total = [...files.values()].reduce((sum, f) => sum + f.length, 0);
    expect(result.bytesReceived).toBe(total);
    expect(progress.every((p) => p.what === 'texts')).toBe(true);
    expect(progress.some((p) => p.bytesDone > 0 && p.bytesDone < p.bytesTotal)).toBe(true);
    const last = progress[progress.length - 1]!;
    expect(last).toMatchObject({ shard: -1, shardsDone: 3, bytesDone: total, bytesTotal: total });
    expect([...disk.keys()].filter((name) => name.endsWith('.part'))).toEqual([]);
    store.close();

    const again = server(files);
    const reopened = await CatalogRowFiles.open(memoryDirectory(disk), columns);
    expect((await fetchRowShards({ catalogUrl, files: reopened.store, fetch: again.fetch, estimate: plenty, ...quiet })).fetched).toEqual([]);
    expect(again.requests).toEqual([]);
  });

  it('a reload in the middle of a shard continues it with a Range request at the next visit; the shards stored are not asked for again', async () => {
    const { columns, files } = await publish();
    const disk = new Map<string, Uint8Array>();
    const first = await CatalogRowFiles.open(memoryDirectory(disk), columns);
    const url1 = rowShardUrl(catalogUrl, 1);
    // The connection breaks 1,024 bytes into shard 1 (the page was closed, the network lost).
    const cut = server(files, { url: url1, after: 1024, kind: 'cut' });
    await expect(fetchRowShards({ catalogUrl, files: first.store, fetch: cut.fetch, estimate: plenty, ...quiet })).rejects.toThrow(/network error/);
    expect(first.store.has(0)).toBe(true);
    expect(first.store.partial).toEqual({ shard: 1, bytes: 1024, validator: '"r1"' });
    expect(disk.get(rowPartName(1))).toHaveLength(1024);
    first.store.close();

    // The next visit: shard 0 from storage, shard 1 from byte 1,024, shard 2 whole.
    const second = await CatalogRowFiles.open(memoryDirectory(disk), columns);
    expect(second.store.partial).toEqual({ shard: 1, bytes: 1024, validator: '"r1"' });
    const resumed = server(files);
    const progress: ShardProgress[] = [];
    const result = await fetchRowShards({
      catalogUrl,
      files: second.store,
      fetch: resumed.fetch,
      estimate: plenty,
      onProgress: (p) => progress.push(p),
      ...quiet,
    });
    expect(result.fetched).toEqual([1, 2]);
    expect(resumed.requests).toEqual([{ url: url1, range: 'bytes=1024-' }, { url: rowShardUrl(catalogUrl, 2) }]);
    expect(result.bytesReceived).toBe(files.get(url1)!.length - 1024 + files.get(rowShardUrl(catalogUrl, 2))!.length);
    // The progress counts the bytes kept: it starts at 1,024, not at zero.
    expect(progress[0]!.bytesDone).toBeGreaterThan(1024);
    expect(second.store.rows.item(41)).toEqual(list[41]);
    expect(second.store.partial).toBeUndefined();
    expect(disk.has(rowPartName(1))).toBe(false);
    expect(disk.has(rowFileName(1))).toBe(true);
  });

  it('refuses before reading a shard when the quota cannot hold the shards to come, naming the sizes; nothing is stored', async () => {
    const { columns, files } = await publish();
    const disk = new Map<string, Uint8Array>();
    const { store } = await CatalogRowFiles.open(memoryDirectory(disk), columns);
    const served = server(files);
    const size = files.get(rowShardUrl(catalogUrl, 0))!.length;
    const error = await fetchRowShards({
      catalogUrl,
      files: store,
      fetch: served.fetch,
      estimate: async () => ({ usage: 1000, quota: 1000 + 2 * size }),
      ...quiet,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaError);
    expect((error as QuotaError).message).toMatch(/Not enough storage for the catalog's texts: .* needed, .* free/);
    expect((error as QuotaError).available).toBe(2 * size);
    expect(served.requests).toHaveLength(1);
    expect(store.has(0)).toBe(false);
    expect([...disk.values()].every((bytes) => bytes.length === 0 || bytes.length < 200)).toBe(true);
  });

  it('asks again from the bytes kept when a request goes silent', async () => {
    const { columns, files } = await publish();
    const { store } = await CatalogRowFiles.open(memoryDirectory(), columns);
    const url0 = rowShardUrl(catalogUrl, 0);
    const served = server(files, { url: url0, after: 512, kind: 'silent' });
    const result = await fetchRowShards({ catalogUrl, files: store, fetch: served.fetch, estimate: plenty, stallMs: 50, ...quiet });
    expect(result.fetched).toEqual([0, 1, 2]);
    expect(served.requests.slice(0, 2)).toEqual([{ url: url0 }, { url: url0, range: 'bytes=512-' }]);
  });
});
