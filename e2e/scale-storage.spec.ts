/**
 * Issue 21's storage in real Chromium (OPFS exists only there): the scale lab's worker
 * (e2e/lab/scale-worker.ts) downloads vector shards generated here at test time (not committed) into
 * OPFS through a sync access handle (src/storage/opfs-vectors.ts, src/engine/shard-fetch.ts), served
 * by a route that honours Range requests; then reads rows back for candidates.
 */
import { expect, test, type Page } from '@playwright/test';
import { gaussianSource, seededUniform } from '../src/core/random';
import { decodeShard, encodeShardFromFloats, planShards, shardUrl, type Shard } from '../src/core/index/shards';
import type { VectorIdentity } from '../src/storage/opfs-vectors';

const dim = 256;
const perShard = 5000;
const total = 12_000; // shards of 5,000, 5,000 and 2,000 rows: 1.3 MB each, enough for a download to be cut inside one
const modelId = 'lab-text-256';

interface Fixture {
  identity: VectorIdentity;
  catalogUrl: string;
  files: Map<string, Buffer>;
  shards: Shard[];
}

async function fixture(fingerprint: string): Promise<Fixture> {
  const normal = gaussianSource(seededUniform(11));
  const catalogUrl = `http://127.0.0.1/fixtures/${fingerprint}/shop.json`;
  const files = new Map<string, Buffer>();
  const shards: Shard[] = [];
  const expected = { modelId, catalogFingerprint: fingerprint, totalItems: total, dimension: dim };
  for (const p of planShards(total, perShard)) {
    const rows = Array.from({ length: p.itemCount }, (_, r) => ({ textHash: (p.itemStart + r).toString(16).padStart(16, '0'), vector: Float32Array.from({ length: dim }, () => normal()) }));
    const bytes = await encodeShardFromFloats({ modelId, catalogFingerprint: fingerprint, shard: p.shard, shards: 3, itemStart: p.itemStart, totalItems: total }, rows, dim);
    files.set(new URL(shardUrl(catalogUrl, modelId, p.shard)).pathname, Buffer.from(bytes));
    shards.push(await decodeShard(bytes, { ...expected, shard: p.shard }));
  }
  return { identity: { modelId, catalogFingerprint: fingerprint, totalItems: total, dimension: dim }, catalogUrl: '', files, shards };
}

/** Serves the fixture's shards at this origin (Range → 206), recording each request's Range header. */
async function serve(page: Page, f: Fixture, requests: { path: string; range?: string }[]): Promise<void> {
  await page.context().route(/\/fixtures\//, async (route) => {
    const path = new URL(route.request().url()).pathname;
    const range = (await route.request().allHeaders())['range'];
    requests.push({ path, ...(range ? { range } : {}) });
    const file = f.files.get(path);
    if (!file) return route.fulfill({ status: 404, body: 'no such shard' });
    const from = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
    return route.fulfill({
      status: from > 0 ? 206 : 200,
      headers: { 'Content-Type': 'application/octet-stream', ETag: '"fixture"', ...(from > 0 ? { 'Content-Range': `bytes ${from}-${file.length - 1}/${file.length}` } : {}) },
      body: file.subarray(from),
    });
  });
}

type LabResult = { fetched: number[]; present: number[]; refused: { shard: number; reason: string }[]; bytesReceived: number; rebuilt?: string; error?: string; quota?: boolean };

async function fetchShards(page: Page, f: Fixture, extra: { quota?: { usage: number; quota: number }; cutAfterBytes?: number } = {}): Promise<LabResult> {
  return page.evaluate(
    ([params]) => (window as unknown as { scaleLab: { fetchShards(p: unknown): Promise<LabResult> } }).scaleLab.fetchShards(params),
    [{ catalogUrl: f.catalogUrl, identity: f.identity, perShard, ...extra }] as const,
  );
}

async function open(page: Page, fingerprint: string): Promise<Fixture> {
  const f = await fixture(fingerprint);
  await page.goto('/e2e/lab/scale.html');
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  f.catalogUrl = new URL(`/fixtures/${fingerprint}/shop.json`, page.url()).href;
  return f;
}

async function rowsMatch(page: Page, f: Fixture, items: number[]): Promise<void> {
  const read = await page.evaluate(
    ([identity, list]) => (window as unknown as { scaleLab: { readRows(i: unknown, l: number[]): Promise<{ codes: number[]; scales: number[] }> } }).scaleLab.readRows(identity, list),
    [f.identity, items] as const,
  );
  items.forEach((item, c) => {
    const shard = f.shards.find((s) => item >= s.header.itemStart && item < s.header.itemStart + s.header.itemCount)!;
    const r = item - shard.header.itemStart;
    expect(read.scales[c]).toBe(shard.scales[r]);
    expect(read.codes.slice(c * dim, (c + 1) * dim)).toEqual(Array.from(shard.codes.subarray(r * dim, (r + 1) * dim)));
  });
}

test('shards land in OPFS; a cut download resumes with a Range request; rows read back exactly', async ({ page }) => {
  const f = await open(page, 'resume-fp');
  const requests: { path: string; range?: string }[] = [];
  // The first visit's connection is lost 300,000 bytes into the first shard (the lab's fetch errors the
  // body there: a route cannot cut a response in the middle).
  await serve(page, f, requests);
  const cut = await fetchShards(page, f, { cutAfterBytes: 300_000 });
  expect(cut.error).toMatch(/connection lost/);
  expect(cut.fetched).toEqual([]);
  expect(requests).toHaveLength(1);
  const resumed = await fetchShards(page, f);
  expect(resumed.error).toBeUndefined();
  expect(resumed.fetched).toEqual([0, 1, 2]);
  expect(requests[1]!.path).toBe(requests[0]!.path);
  expect(requests[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
  const kept = Number(/^bytes=(\d+)-$/.exec(requests[1]!.range!)![1]);
  expect(kept).toBe(300_000);
  // Only the rest of shard 0 came again.
  const sizes = [...f.files.values()].reduce((sum, file) => sum + file.length, 0);
  expect(resumed.bytesReceived).toBe(sizes - kept);
  await rowsMatch(page, f, [0, 1, 4999, 5000, 9999, 10_000, 11_999]);
  // A reload reads the rows from OPFS: no request at all.
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  const again = await fetchShards(page, f);
  expect(again.present).toEqual([0, 1, 2]);
  expect(requests).toHaveLength(4);
  await rowsMatch(page, f, [123, 7777]);
});

test('a download the quota cannot hold is refused before any request, saying how much is needed', async ({ page }) => {
  const f = await open(page, 'quota-fp');
  const requests: { path: string; range?: string }[] = [];
  await serve(page, f, requests);
  const refused = await fetchShards(page, f, { quota: { usage: 9_000_000, quota: 10_000_000 } });
  expect(refused.quota).toBe(true);
  expect(refused.error).toMatch(/Not enough storage for the catalog's vectors: [\d.]+ MB needed, \d+ KB free/);
  expect(requests).toEqual([]);
});

test('a damaged shard is refused with its reason; after eviction the rows are rebuilt and the history is untouched', async ({ page }) => {
  const f = await open(page, 'evict-fp');
  const path = [...f.files.keys()][1]!;
  const damaged = Buffer.from(f.files.get(path)!);
  damaged[damaged.length - 1]! ^= 1;
  f.files.set(path, damaged);
  await serve(page, f, []);
  const first = await fetchShards(page, f);
  expect(first.fetched).toEqual([0, 2]);
  expect(first.refused).toEqual([{ shard: 1, reason: 'bad-checksum' }]);

  // The history lives in IndexedDB; the browser then evicts the vectors' file.
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const request = indexedDB.open('scale-lab-history', 1);
        request.onupgradeneeded = () => request.result.createObjectStore('events', { autoIncrement: true });
        request.onsuccess = () => {
          const tx = request.result.transaction('events', 'readwrite');
          tx.objectStore('events').add({ itemId: 'b1', type: 'like' });
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        };
        request.onerror = () => reject(request.error);
      }),
  );
  await page.evaluate(() => (window as unknown as { scaleLab: { evict(file: string): Promise<void> } }).scaleLab.evict('rows.bin'));
  f.files.set(path, Buffer.from(damaged.map((b, i) => (i === damaged.length - 1 ? b ^ 1 : b))));
  const rebuilt = await fetchShards(page, f);
  expect(rebuilt.rebuilt).toBe('evicted');
  expect(rebuilt.fetched).toEqual([0, 1, 2]);
  await rowsMatch(page, f, [0, 6000, 11_999]);
  const history = await page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const request = indexedDB.open('scale-lab-history', 1);
        request.onsuccess = () => {
          const count = request.result.transaction('events').objectStore('events').count();
          count.onsuccess = () => resolve(count.result);
        };
        request.onerror = () => reject(request.error);
      }),
  );
  expect(history).toBe(1);
});
