/**
 * Issue 21 end to end: the app with a 100,000-item catalog, generated here at test time (not
 * committed), with the publisher's files beside it: two vector shards of 50,000 rows and the text
 * index's sign codes (as `npm run catalog -- --embeddings` writes them; the vectors are random but
 * fixed, in 100 groups, because embedding 100,000 texts would take hours). The engine takes the scale
 * path (src/engine/scale.ts): a first recommendation before any shard has arrived, the shards downloaded
 * into OPFS with their progress on the status line, a Like re-ranks the feed toward the liked item's
 * group (stage one over the codes, the candidates' rows read from OPFS), and a reload reads the codes
 * and rows from storage: no request for them. The publisher's global model lists its rows by id (the
 * head, core/model/shipped-head.ts; written by encodeShippedGlobal as `npm run train-global` writes it):
 * once it is read (held back until the content profile's re-rank is seen), the feed is the model's: the
 * head pairs each of the 1,000 most popular items with a little-read item of another group through a
 * shared residual q_i, which the model's own candidates (core/model/model-candidates.ts) bring in first,
 * and u is kept in IndexedDB across the reload.
 */
import type { Page, Route } from '@playwright/test';
import { test, expect, feed, feedTitles } from './fixtures';
import { parseCatalog } from '../src/core/catalog';
import { CatalogIndex } from '../src/core/catalog-index';
import { USE_LITE_SPEC } from '../src/core/encoder-registry';
import { encodeIndexFile, indexFileUrl, textSignBits } from '../src/core/index/codes-file';
import { int8Rows } from '../src/core/index/rows';
import { decodeShard, encodeShardFromFloats, planShards, shardUrl } from '../src/core/index/shards';
import { encodeSign, signCodebook, type SignCodes } from '../src/core/index/sign';
import { modelIdFor } from '../src/core/model/identity';
import { shippedGlobalUrl } from '../src/core/model/shipped-global';
import { mostPopular } from '../src/core/index/pool-rank';
import { gaussianSource, seededUniform } from '../src/core/random';
import { partnerHeadFile } from '../src/engine/testing/scale-head-fixture';

// Rows are read back from OPFS, which exists in Chromium's workers; the fixture takes a few seconds.
test.use({ serviceWorkers: 'block' });
test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'the scale path does not depend on the compute backend'));

const total = 100_000;
const groups = 100;
const dim = USE_LITE_SPEC.dimension;
const modelId = USE_LITE_SPEC.id;
const catalogPath = '/catalog/goodbooks-10k.json';
const ADJECTIVES = ['Quiet', 'Amber', 'Hidden', 'Northern', 'Silver', 'Broken', 'Gentle', 'Crimson', 'Last', 'Wild', 'Distant', 'Golden', 'Secret'];
const NOUNS = ['River', 'Garden', 'Harbour', 'Winter', 'Letters', 'Orchard', 'Lantern', 'Mountain', 'Voyage', 'Kingdom', 'Mirror', 'Meadow', 'Compass', 'Tide'];

/**
 * Math.hypot(...values) as V8 computes it (builtins/math.tq: each |x| over the largest, squares summed with Kahan's
 * compensation, sqrt times the largest), bit for bit, without passing 512 arguments: finite values only.
 */
function hypot(values: Float32Array): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]!));
  if (max === 0) return 0;
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < values.length; i++) {
    const n = Math.abs(values[i]!) / max;
    const summand = n * n - compensation;
    const preliminary = sum + summand;
    compensation = preliminary - sum - summand;
    sum = preliminary;
  }
  return Math.sqrt(sum) * max;
}

/** The group of an item, as its title shows it ("G17-…"). */
const groupOf = (title: string) => /^G(\d+)-/.exec(title)?.[1];

interface Fixture {
  catalog: string;
  files: Map<string, Buffer>;
  /** The global model's file (its rows by id) and, by title, each popular item's partner in it. */
  head: { path: string; bytes: Buffer; partnerOf: Map<string, string> };
}

let cached: Promise<Fixture> | undefined;

async function build(): Promise<Fixture> {
  const uniform = seededUniform(5);
  const items = Array.from({ length: total }, (_, i) => {
    const title = `G${i % groups}-${i} ${ADJECTIVES[i % 13]} ${NOUNS[Math.floor(i / 13) % 14]}`;
    // Popularity nearly flat (log-scaled 0.91-1.0) and independent of the group: a Like's taste outweighs it.
    return { id: `s${i}`, title, text: `${title}, a story`, byline: `Writer ${i}`, popularity: 1000 + Math.floor(1000 * uniform()) };
  });
  const json = { format: 'private-recs-catalog', version: 1, name: 'scale test shop', items };
  // The hashes and fingerprint exactly as the engine computes them from the parsed catalog.
  const index = new CatalogIndex(parseCatalog(json).items);
  const fingerprint = index.fingerprint();
  const normal = gaussianSource(seededUniform(21));
  const centres = Array.from({ length: groups }, () => Float32Array.from({ length: dim }, () => normal()));
  const book = signCodebook(dim, textSignBits(dim), 7);
  const width = book.bits / 8;
  const codes: SignCodes = { codes: new Uint8Array(total * width), scales: new Float32Array(total), norms: new Float32Array(total) };
  const files = new Map<string, Buffer>();
  const plan = planShards(total);
  for (const p of plan) {
    // Plain loops (and hypot without spreading 512 arguments): the same values, bit for bit, as Float32Array.from,
    // Math.hypot(...v) and map, which took 10.3 s for the 100,000 rows against 4.2 s (stop 40, load 3.6).
    const rows = Array.from({ length: p.itemCount }, (_, r) => {
      const item = p.itemStart + r;
      const centre = centres[item % groups]!;
      const vector = new Float32Array(dim);
      for (let t = 0; t < dim; t++) vector[t] = centre[t]! + 0.3 * normal();
      const norm = hypot(vector);
      for (let t = 0; t < dim; t++) vector[t] = vector[t]! / norm;
      return { textHash: index.hashes[item]!, vector };
    });
    const bytes = await encodeShardFromFloats(
      { modelId, catalogFingerprint: fingerprint, shard: p.shard, shards: plan.length, itemStart: p.itemStart, totalItems: total },
      rows,
      dim,
    );
    files.set(shardUrl(catalogPath, modelId, p.shard), Buffer.from(bytes));
    const shard = await decodeShard(bytes, { modelId, catalogFingerprint: fingerprint, shard: p.shard });
    const part = encodeSign(book, int8Rows(shard.codes, shard.scales, dim));
    codes.codes.set(part.codes, p.itemStart * width);
    codes.scales.set(part.scales, p.itemStart);
    codes.norms.set(part.norms, p.itemStart);
  }
  const indexFile = await encodeIndexFile({ vectors: 'text', modelId, catalogFingerprint: fingerprint }, { kind: 'sign', codebook: book, codes });
  files.set(indexFileUrl(catalogPath, modelId, 'text'), Buffer.from(indexFile));
  // The head: the 1,000 most popular items (a new reader's first feed), each paired with one of the least
  // read items of another group (2,000 rows).
  const popular = mostPopular(index.popularity, 1000);
  const leastRead = Array.from({ length: total }, (_, i) => i).sort((a, b) => index.popularity[a]! - index.popularity[b]! || a - b);
  const partnerOf = new Map<string, string>();
  const pairs: [string, string][] = [];
  let next = 0;
  for (const item of popular) {
    while (leastRead[next]! % groups === item % groups) next++;
    const partner = leastRead[next++]!;
    pairs.push([items[item]!.id, items[partner]!.id]);
    partnerOf.set(items[item]!.title, items[partner]!.title);
  }
  const bytes = await partnerHeadFile({ encoderId: modelId, embeddingDim: dim, ids: [], partners: pairs });
  const head = { path: shippedGlobalUrl(catalogPath, modelIdFor(modelId)), bytes: Buffer.from(bytes), partnerOf };
  return { catalog: JSON.stringify(json), files, head };
}

/** The reader's u as stored in IndexedDB (`scale/u`): its key (global model, events learned, time) and values. */
function storedUser(page: Page): Promise<{ key: string; values: number[] } | undefined> {
  return page.evaluate(
    () =>
      new Promise<{ key: string; values: number[] } | undefined>((resolve, reject) => {
        const open = indexedDB.open('private-recs');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction('weights').objectStore('weights').get('scale/u');
          request.onsuccess = () => {
            open.result.close();
            const weight = request.result as { key: string; values: Float32Array } | undefined;
            resolve(weight && { key: weight.key, values: Array.from(weight.values) });
          };
        };
      }),
  );
}

test('a 100,000-item catalog: a first recommendation, a Like re-ranks it (the content profile, then the global model), a reload reads the codes from storage and keeps u', async ({
  page,
  context,
}) => {
  test.setTimeout(300_000);
  const fixture = await (cached ??= build());
  // Requests for the publisher's vector files (shards, text index), in order.
  const vectorRequests: string[] = [];
  let release!: () => void;
  const shardsReleased = new Promise<void>((resolve) => (release = resolve));
  await context.route('**/catalog/goodbooks-10k.json', (route) => route.fulfill({ body: fixture.catalog, contentType: 'application/json' }));
  const serveFile = async (route: Route) => {
    const path = new URL(route.request().url()).pathname;
    vectorRequests.push(path);
    // The shards are held back until the first feed is on screen: it must not wait for them.
    if (path.endsWith('.emb')) await shardsReleased;
    const file = fixture.files.get(path);
    if (!file) return route.fulfill({ status: 404, body: 'no such file' });
    return route.fulfill({ status: 200, headers: { 'Content-Type': 'application/octet-stream', ETag: '"fixture"' }, body: file });
  };
  await context.route('**/catalog/goodbooks-10k.*.shard-*.emb', serveFile);
  await context.route('**/catalog/goodbooks-10k.*.text-index', serveFile);
  // The global model, held back until the content profile's re-rank after the Like has been seen.
  const globalRequests: string[] = [];
  let releaseModel!: () => void;
  const modelReleased = new Promise<void>((resolve) => (releaseModel = resolve));
  await context.route('**/catalog/goodbooks-10k.*.global', async (route) => {
    const path = new URL(route.request().url()).pathname;
    globalRequests.push(path);
    await modelReleased;
    if (path !== fixture.head.path) return route.fulfill({ status: 404, body: 'no such file' });
    return route.fulfill({ status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: fixture.head.bytes });
  });

  await page.goto('/');
  // The first recommendation, from popularity, before any shard has arrived.
  await expect(feed(page)).toHaveCount(20, { timeout: 120_000 });
  expect(vectorRequests.filter((path) => path.endsWith('.emb')).length).toBeLessThanOrEqual(1);
  release();
  // The download's progress (bytes and time left) on the status line, until the rows are stored.
  await expect(page.getByText(/Downloading the catalog's vectors: [\d.]+ [KM]B of [\d.]+ MB/)).toBeVisible();
  await expect(page.getByText(/Downloading the catalog's vectors/)).toBeHidden({ timeout: 120_000 });
  expect(vectorRequests.sort()).toEqual(
    [indexFileUrl(catalogPath, modelId, 'text'), shardUrl(catalogPath, modelId, 0), shardUrl(catalogPath, modelId, 1)].sort(),
  );

  const before = await feedTitles(page, 10);
  const liked = before[0]!;
  const group = groupOf(liked);
  expect(group).toBeDefined();
  expect(before.filter((title) => groupOf(title) === group).length).toBeLessThanOrEqual(2);
  await feed(page).first().getByRole('button', { name: 'Like', exact: true }).click();
  // The feed re-ranked toward the liked item's group: found by the index among 100,000 items.
  await expect
    .poll(async () => {
      const titles = await feedTitles(page, 10);
      return !titles.includes(liked) && groupOf(titles[0]!) === group && titles.filter((title) => groupOf(title) === group).length >= 2;
    })
    .toBe(true);
  const afterLike = await feedTitles(page, 10);
  expect(afterLike).not.toEqual(before);

  // The global model, asked for at the Like: once read, the model ranks, its own candidates included: the
  // liked item's partner in the head (another group, little read, so in no pool of the text's) comes first.
  await expect.poll(() => globalRequests).toEqual([fixture.head.path]);
  const partner = fixture.head.partnerOf.get(liked);
  expect(partner).toBeDefined();
  expect(afterLike).not.toContain(partner);
  releaseModel();
  await expect.poll(async () => (await feedTitles(page, 1))[0], { timeout: 30_000 }).toBe(partner);
  expect(await feedTitles(page, 10)).not.toContain(liked);
  // u is stored having learned the one Like.
  await expect.poll(async () => (await storedUser(page))?.key.split(' ')[1]).toBe('1');
  const learned = await storedUser(page);

  // The Privacy panel counts the rows kept in OPFS.
  const vectorsRow = page.getByRole('row', { name: /The catalog's vectors/ });
  await expect(vectorsRow).toContainText('100,000');

  // A reload: the codes and rows come from storage, not the network.
  vectorRequests.length = 0;
  globalRequests.length = 0;
  await page.reload();
  await expect(feed(page)).toHaveCount(20, { timeout: 120_000 });
  // The history holds a Like: the model opens at the first rank, with u from IndexedDB (not learned again:
  // the stored u is the same to the last bit), and its feed comes back.
  await expect.poll(async () => (await feedTitles(page, 1))[0], { timeout: 30_000 }).toBe(partner);
  expect(await storedUser(page)).toEqual(learned);
  expect(globalRequests).toEqual([fixture.head.path]);
  expect(vectorRequests).toEqual([]);
});

test('a 100,000-item catalog: persistent storage is asked before the download, and an erase in a second tab removes the files the first holds open', async ({
  page,
  context,
}) => {
  test.setTimeout(300_000);
  const fixture = await (cached ??= build());
  // In order: the page's navigator.storage.persist() calls and the requests for the vector files.
  const order: string[] = [];
  await context.exposeBinding('persistAsked', () => void order.push('persist()'));
  await context.addInitScript(() => {
    const storage = navigator.storage as StorageManager | undefined;
    const persist = storage?.persist?.bind(storage);
    if (!storage || !persist) return;
    storage.persist = () => {
      (window as unknown as { persistAsked(): void }).persistAsked();
      return persist();
    };
  });
  await context.route('**/catalog/goodbooks-10k.json', (route) => route.fulfill({ body: fixture.catalog, contentType: 'application/json' }));
  const serveFile = async (route: Route) => {
    const path = new URL(route.request().url()).pathname;
    order.push(path);
    const file = fixture.files.get(path);
    if (!file) return route.fulfill({ status: 404, body: 'no such file' });
    return route.fulfill({ status: 200, headers: { 'Content-Type': 'application/octet-stream', ETag: '"fixture"' }, body: file });
  };
  await context.route('**/catalog/goodbooks-10k.*.shard-*.emb', serveFile);
  await context.route('**/catalog/goodbooks-10k.*.text-index', serveFile);
  const privacy = (p: Page) => p.getByRole('region', { name: 'Privacy' });
  const opfsEntries = (p: Page) =>
    p.evaluate(async () => {
      const names: string[] = [];
      const root = (await navigator.storage.getDirectory()) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
      for await (const name of root.keys()) names.push(name);
      return names;
    });

  await page.goto('/');
  await expect(feed(page)).toHaveCount(20, { timeout: 120_000 });
  await expect(page.getByText(/Downloading the catalog's vectors/)).toBeHidden({ timeout: 120_000 });
  await expect.poll(() => order.filter((entry) => entry.endsWith('.emb')).length, { timeout: 120_000 }).toBe(2);
  // The question came first: the engine waited for the page's answer before any vector file.
  expect(order[0]).toBe('persist()');
  // The answer is on the Privacy panel before any like.
  await expect(privacy(page).locator('.persistence')).not.toContainText('Not asked yet');
  await expect(privacy(page).getByRole('row', { name: /The catalog's vectors/ })).toContainText('100,000');
  expect(await opfsEntries(page)).toContain('vectors');

  // A second tab: its worker cannot open the files the first one's holds, and it erases everything.
  const second = await context.newPage();
  await second.goto('/');
  await expect(feed(second)).toHaveCount(20, { timeout: 120_000 });
  await privacy(second).getByRole('button', { name: 'Erase all my data' }).click();
  await second.getByRole('dialog', { name: 'Erase all your data?' }).getByRole('button', { name: 'Erase', exact: true }).click();
  await expect(second.getByRole('heading', { name: 'All your data was erased' })).toBeVisible();
  // The first tab let go of its files on hearing the erase; the erase then removed them.
  await expect(page.getByText(/erased in another tab/)).toBeVisible();
  await expect.poll(() => opfsEntries(second), { timeout: 20_000 }).not.toContain('vectors');
  expect((await opfsEntries(second)).filter((name) => name.endsWith('.erase-pending'))).toEqual([]);
});
