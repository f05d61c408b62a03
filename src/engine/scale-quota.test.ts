import { describe, expect, it } from 'vitest';
import { rowShardUrl } from '../core/catalog-rows';
import type { PartialShard } from '../storage/opfs-vectors';
import { rowShardsToStore, type RowShardsStored } from './scale-quota';

const catalogUrl = '/shop.json';

/** Row shards of these sizes, answering HEAD with their Content-Length (or as `answer` says); the requests made. */
function server(sizes: number[], answer: (shard: number) => 'size' | 'no-size' | '404' | 'silent' = () => 'size') {
  const requests: { url: string; method: string }[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    requests.push({ url, method: init?.method ?? 'GET' });
    const shard = sizes.findIndex((_, s) => rowShardUrl(catalogUrl, s) === url);
    const how = answer(shard);
    if (how === 'silent') return new Promise<never>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error)));
    if (how === '404') return new Response(null, { status: 404 });
    return new Response(null, { status: 200, headers: how === 'size' ? { 'Content-Length': String(sizes[shard]) } : {} });
  }) as typeof fetch;
  return { fetch: fetchImpl, requests };
}

function stored(shards: number, have: number[], partial?: PartialShard): RowShardsStored {
  return { shards, has: (shard) => have.includes(shard), partial };
}

describe('rowShardsToStore', () => {
  it('sizes the row shards not stored yet with one HEAD request each, less the bytes a cut download kept', async () => {
    const served = server([1000, 2000, 3000, 500]);
    const need = await rowShardsToStore({ catalogUrl, files: stored(4, [1], { shard: 2, bytes: 1200 }), fetch: served.fetch });
    expect(need).toEqual({ bytes: 1000 + 3000 + 500 - 1200, largest: 3000 });
    expect(served.requests.map((r) => r.method)).toEqual(['HEAD', 'HEAD', 'HEAD']);
    expect(served.requests.map((r) => r.url).sort()).toEqual([0, 2, 3].map((s) => rowShardUrl(catalogUrl, s)).sort());
  });

  it('counts a shard whose answer gives no size at the average of the others, and gives up when none does', async () => {
    const partly = server([1000, 3000, 7000], (shard) => (shard === 2 ? 'no-size' : shard === 1 ? '404' : 'size'));
    expect(await rowShardsToStore({ catalogUrl, files: stored(3, []), fetch: partly.fetch })).toEqual({ bytes: 3000, largest: 1000 });
    const none = server([1000, 3000], () => 'no-size');
    expect(await rowShardsToStore({ catalogUrl, files: stored(2, []), fetch: none.fetch })).toBeUndefined();
  });

  it('asks nothing when every row shard is stored', async () => {
    const served = server([1000, 2000]);
    expect(await rowShardsToStore({ catalogUrl, files: stored(2, [0, 1]), fetch: served.fetch })).toBeUndefined();
    expect(served.requests).toEqual([]);
  });

  it('does not wait longer than its limit for a HEAD that never answers', async () => {
    const served = server([1000, 2000, 4000], (shard) => (shard === 1 ? 'silent' : 'size'));
    const started = Date.now();
    const need = await rowShardsToStore({ catalogUrl, files: stored(3, []), fetch: served.fetch, timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(need).toEqual({ bytes: 1000 + 2500 + 4000, largest: 4000 });
  });

  it('rejects when the download is stopped (an erase) while it asks', async () => {
    const served = server([1000], () => 'silent');
    const stop = new AbortController();
    const asking = rowShardsToStore({ catalogUrl, files: stored(1, []), fetch: served.fetch, signal: stop.signal });
    stop.abort(new Error('erased'));
    await expect(asking).rejects.toThrow('erased');
  });
});
