/**
 * Issue 21 end to end, a catalog named by its columns file: the app with SCALE_ITEMS items (default
 * 100,000; `SCALE_ITEMS=1000000` for the bench) generated here at test time (not committed; kept under
 * /tmp between runs) as the publisher writes them: `<catalog>.columns`, row shards, vector shards of
 * 50,000 rows and the text index's sign codes. The vectors are random but fixed, in 100 groups
 * (embedding the texts would take hours). The app's page names goodbooks-10k.json; an init script
 * hands its engine the columns URL instead (the page has no catalog setting of its own).
 * Checks: a first recommendation (the head's popular items) before the columns and any shard; the files
 * downloaded into OPFS; a Like re-ranks the feed toward the liked item's group; a reload reads the
 * columns, codes, vectors and rows from storage, not the network (the head only, after its feed). Prints
 * the timings (first feed, the engine's feed once the columns are in, Like re-rank, returning visit) as one JSON line;
 * each Like's `likeWorker[].steps` place its time on the page's clock from the click (see likeSteps).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { chromium, type BrowserContext, type Page, type Route } from '@playwright/test';
import { test, expect, feed, feedTitles } from './fixtures';
import type { CatalogItem } from '../src/core/catalog';
import { decodeColumns, encodeColumns } from '../src/core/catalog-columns';
import { encodeColumnsHead } from '../src/core/catalog-columns-head';
import { encodeRowShard } from '../src/core/catalog-rows';
import { USE_LITE_SPEC } from '../src/core/encoder-registry';
import { textHash } from '../src/core/hash';
import { encodeIndexFile, textSignBits } from '../src/core/index/codes-file';
import { int8Rows } from '../src/core/index/rows';
import { decodeShard, encodeShardFromFloats, planShards } from '../src/core/index/shards';
import { encodeSign, signCodebook, type SignCodes } from '../src/core/index/sign';
import { encoderText } from '../src/core/item-text';
import { modelIdFor } from '../src/core/model/identity';
import { shippedGlobalUrl } from '../src/core/model/shipped-global';
import { partnerHeadFile } from '../src/engine/testing/scale-head-fixture';
import { gaussianSource, seededUniform } from '../src/core/random';
import { startTrace } from './scale-trace';

test.use({ serviceWorkers: 'block' });
test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'the scale path does not depend on the compute backend'));
// Quarantined from the default suite (stop 32): in one CI run the vectors' download stopped after the
// first of two shards (the status line stayed at 25.0 of 50.0 MB for 6 minutes) and the test timed out;
// the same build passed it in 43 s right after. Stop 33 bounded every wait of the downloads (a silent
// request is asked again, engine/scale-download.ts) but did not reproduce the stall; on a build of
// d73e716 it passed 3 runs of 4 (28.5 s and 37.2 s alone, 66 s beside two busy loops) and the 4th, with
// the page's CPU throttled 4x (SCALE_CPU_THROTTLE=4), finished its downloads and then ran past 300 s in
// the Privacy panel and Like steps. Stop 34 saw it again (2026-12-07 05:37 UTC, load < 1: the vectors' line at
// 25.0 of 50.0 MB, shard 1 never asked for) and once the Privacy panel's sizes never answered; a storage call
// between shards now has a time limit (engine/scale-download.ts STORAGE_CALL_MS), not shown to be the cause.
// Run it on purpose: SCALE_COLUMNS_E2E=1 (or SCALE_ITEMS=N for the bench; SCALE_PROFILE=1 prints where the
// Likes' time goes).
test.skip(!process.env.SCALE_COLUMNS_E2E && !process.env.SCALE_ITEMS, 'quarantined: a stall of the vectors download seen once in CI (see the comment above)');

const total = Number(process.env.SCALE_ITEMS ?? 100_000);
const groups = 100;
const dim = USE_LITE_SPEC.dimension;
const modelId = USE_LITE_SPEC.id;
const ROW_SHARD_ITEMS = 50_000;
const columnsPath = '/catalog/scale-shop.columns';
const headPath = '/catalog/scale-shop.head.json';
const ADJECTIVES = ['Quiet', 'Amber', 'Hidden', 'Northern', 'Silver', 'Broken', 'Gentle', 'Crimson', 'Last', 'Wild', 'Distant', 'Golden', 'Secret'];
const NOUNS = ['River', 'Garden', 'Harbour', 'Winter', 'Letters', 'Orchard', 'Lantern', 'Mountain', 'Voyage', 'Kingdom', 'Mirror', 'Meadow', 'Compass', 'Tide'];
const groupOf = (title: string) => /^G(\d+)-/.exec(title)?.[1];
const fixtureDir = `/tmp/scale-columns-fixture-${total}`;
/** The longest a step of the downloads may take: minutes at 1,000,000 items, far less at 100,000 (a stall fails in time to say where). */
const downloadsWait = total > 200_000 ? 1_200_000 : 150_000;
/**
 * SCALE_MODEL=1: the publisher's global model beside the catalog (its name from the catalog's JSON name, as
 * engine/scale-model.ts asks for it), its rows by id: a head of 10,000 items, W random but fixed. The model
 * opens at the first rank after a Like, so one Like before the timed ones opens it, and the five Likes are
 * ranked by it (engine/scale-model.ts: its own text-index query, the head scored, its candidates' rows read).
 */
const withModel = Boolean(process.env.SCALE_MODEL);
const globalPath = shippedGlobalUrl('/catalog/scale-shop.json', modelIdFor(modelId));
const MODEL_HEAD_ITEMS = 10_000;

/** The publisher's files by URL path, built once and kept under /tmp (file names: the path with / as ~). */
async function build(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  if (existsSync(`${fixtureDir}/done`)) {
    for (const name of readdirSync(fixtureDir)) if (name !== 'done') files.set(name.replaceAll('~', '/'), readFileSync(`${fixtureDir}/${name}`));
    // Fixtures kept from before the publisher wrote the head (stop 34): made from the columns.
    if (!files.has(headPath)) {
      const columnsFile = files.get(columnsPath)!;
      files.set(headPath, Buffer.from(encodeColumnsHead(await decodeColumns(columnsFile), columnsFile.length)));
      writeFileSync(`${fixtureDir}/${headPath.replaceAll('/', '~')}`, files.get(headPath)!);
    }
    return files;
  }
  const uniform = seededUniform(5);
  const items: CatalogItem[] = Array.from({ length: total }, (_, i) => {
    const title = `G${i % groups}-${i} ${ADJECTIVES[i % 13]} ${NOUNS[Math.floor(i / 13) % 14]}`;
    return { id: `s${i}`, title, text: `${title}, a story`, byline: `Writer ${i % 5003}`, popularity: 1000 + Math.floor(1000 * uniform()) };
  });
  const columnsBytes = await encodeColumns({ name: 'scale test shop', rowShardItems: ROW_SHARD_ITEMS }, items);
  files.set(columnsPath, Buffer.from(columnsBytes));
  const columns = await decodeColumns(columnsBytes);
  files.set(headPath, Buffer.from(encodeColumnsHead(columns, columnsBytes.length)));
  const fingerprint = columns.fingerprint;
  for (let shard = 0; shard * ROW_SHARD_ITEMS < total; shard++) {
    const bytes = await encodeRowShard(columns, shard, items.slice(shard * ROW_SHARD_ITEMS, (shard + 1) * ROW_SHARD_ITEMS));
    files.set(`/catalog/scale-shop.rows-${shard}.bin`, Buffer.from(bytes));
  }
  const normal = gaussianSource(seededUniform(21));
  const centres = Array.from({ length: groups }, () => Float32Array.from({ length: dim }, () => normal()));
  const book = signCodebook(dim, textSignBits(dim), 7);
  const width = book.bits / 8;
  const codes: SignCodes = { codes: new Uint8Array(total * width), scales: new Float32Array(total), norms: new Float32Array(total) };
  const plan = planShards(total);
  for (const p of plan) {
    const rows = Array.from({ length: p.itemCount }, (_, r) => {
      const item = p.itemStart + r;
      const centre = centres[item % groups]!;
      const vector = new Float32Array(dim);
      let norm = 0;
      for (let t = 0; t < dim; t++) norm += (vector[t] = centre[t]! + 0.3 * normal()) ** 2;
      norm = Math.sqrt(norm);
      for (let t = 0; t < dim; t++) vector[t]! /= norm;
      return { textHash: textHash(encoderText(items[item]!)), vector };
    });
    const bytes = await encodeShardFromFloats(
      { modelId, catalogFingerprint: fingerprint, shard: p.shard, shards: plan.length, itemStart: p.itemStart, totalItems: total },
      rows,
      dim,
    );
    files.set(`/catalog/scale-shop.${modelId}.shard-${p.shard}.emb`, Buffer.from(bytes));
    const shard = await decodeShard(bytes, { modelId, catalogFingerprint: fingerprint, shard: p.shard });
    const part = encodeSign(book, int8Rows(shard.codes, shard.scales, dim));
    codes.codes.set(part.codes, p.itemStart * width);
    codes.scales.set(part.scales, p.itemStart);
    codes.norms.set(part.norms, p.itemStart);
  }
  const indexFile = await encodeIndexFile({ vectors: 'text', modelId, catalogFingerprint: fingerprint }, { kind: 'sign', codebook: book, codes });
  files.set(`/catalog/scale-shop.${modelId}.text-index`, Buffer.from(indexFile));
  mkdirSync(fixtureDir, { recursive: true });
  for (const [path, bytes] of files) writeFileSync(`${fixtureDir}/${path.replaceAll('/', '~')}`, bytes);
  writeFileSync(`${fixtureDir}/done`, '');
  return files;
}

/** The engine worker's V8 heap by CDP (Runtime.getHeapUsage on its target): used JS heap and ArrayBuffer backing stores. */
async function engineWorkerHeap(context: BrowserContext, page: Page): Promise<{ used: number; backing?: number } | undefined> {
  const cdp = await context.newCDPSession(page);
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
  const target = targetInfos.find((t) => t.type === 'worker' && /\/assets\/worker[-.]/.test(t.url));
  if (!target) return undefined;
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })) as { sessionId: string };
  const result = new Promise<{ usedSize: number; backingStorageSize?: number }>((resolve, reject) => {
    setTimeout(() => reject(new Error('no answer')), 10_000);
    cdp.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
      const message = JSON.parse(event.message) as { id?: number; result?: { usedSize: number; backingStorageSize?: number } };
      if (message.id === 1 && message.result) resolve(message.result);
    });
  });
  await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' }) });
  const heap = await result.catch(() => undefined);
  await cdp.detach();
  return heap && { used: heap.usedSize, ...(heap.backingStorageSize !== undefined ? { backing: heap.backingStorageSize } : {}) };
}

/**
 * SCALE_PROFILE=1: a CPU profile of the engine worker and of the page over the likes after the first (CDP
 * Profiler), printed as the functions with the most self time in each (where a like's time goes; the first
 * Like is traced instead, e2e/scale-trace.ts).
 */
async function startProfiles(context: BrowserContext, page: Page): Promise<() => Promise<Record<string, string[]>>> {
  const pageCdp = await context.newCDPSession(page);
  await pageCdp.send('Profiler.enable');
  await pageCdp.send('Profiler.start');
  const cdp = await context.newCDPSession(page);
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
  const target = targetInfos.find((t) => t.type === 'worker' && /\/assets\/worker[-.]/.test(t.url));
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target!.targetId, flatten: false })) as { sessionId: string };
  const answers = new Map<number, (result: unknown) => void>();
  cdp.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
    const message = JSON.parse(event.message) as { id?: number; result?: unknown };
    if (message.id !== undefined) answers.get(message.id)?.(message.result);
  });
  let id = 0;
  const send = (method: string) => {
    const answer = new Promise<unknown>((resolve) => answers.set(++id, resolve));
    void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
    return answer;
  };
  await send('Profiler.enable');
  await send('Profiler.start');
  type Profile = {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const top = (profile: Profile) => {
    const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
    const self = new Map<string, number>();
    profile.samples.forEach((sample, k) => {
      const frame = byNode.get(sample)!.callFrame;
      const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.lineNumber}:${frame.columnNumber}`;
      self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[k] ?? 0) / 1000);
    });
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    return [
      `total ${total.toFixed(0)} ms`,
      ...[...self.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25)
        .map(([name, ms]) => `${ms.toFixed(1)} ms ${name}`),
    ];
  };
  return async () => {
    const worker = ((await send('Profiler.stop')) as { profile: Profile }).profile;
    const pageProfile = ((await pageCdp.send('Profiler.stop')) as { profile: Profile }).profile;
    return { worker: top(worker), page: top(pageProfile) };
  };
}

/** Evaluates `expression` (a JSON string) in the engine worker (CDP, its target), parsed. */
async function inEngineWorker(context: BrowserContext, page: Page, expression: string): Promise<Record<string, unknown> | undefined> {
  const cdp = await context.newCDPSession(page);
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
  const target = targetInfos.find((t) => t.type === 'worker' && /\/assets\/worker[-.]/.test(t.url));
  if (!target) return undefined;
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })) as { sessionId: string };
  const result = new Promise<string>((resolve, reject) => {
    setTimeout(() => reject(new Error('no answer')), 10_000);
    cdp.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
      const message = JSON.parse(event.message) as { id?: number; result?: { result?: { value?: string } } };
      if (message.id === 1 && message.result?.result?.value) resolve(message.result.result.value);
    });
  });
  await cdp.send('Target.sendMessageToTarget', {
    sessionId,
    message: JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression, returnByValue: true } }),
  });
  const value = await result.catch(() => undefined);
  await cdp.detach();
  return value === undefined ? undefined : (JSON.parse(value) as Record<string, unknown>);
}

/** The engine worker's performance marks (startup.ts: catalog fetched, parsed, stored state read, first feed), ms from its start. */
async function engineWorkerMarks(context: BrowserContext, page: Page): Promise<Record<string, number> | undefined> {
  // With the worker's time origin (epoch ms), to place its marks on the page's clock.
  // And the engine's last measures (engine/scale-marks.ts): the read-ahead round, the pool's stage one and two, the catalog rows read.
  const expression = `JSON.stringify({ ...Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)])), timeOrigin: performance.timeOrigin, ...Object.fromEntries(['read-ahead', 'read-ahead-first', 'pool', 'catalog-load'].map((name) => [name, performance.getEntriesByName('engine:' + name, 'measure').map((m) => ({ rows: m.detail?.rows, ms: Math.round(m.duration), at: Math.round(m.startTime) }))[0]])) })`;
  return (await inEngineWorker(context, page, expression)) as Record<string, number> | undefined;
}

/** A User Timing measure on one clock (epoch ms), with its detail. */
interface Measure {
  start: number;
  duration: number;
  detail?: Record<string, number>;
}
const measuresExpression = (names: readonly string[]) =>
  `JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map((name) => [name, performance.getEntriesByName(name, 'measure').map((m) => ({ start: performance.timeOrigin + m.startTime, duration: m.duration, detail: m.detail }))[0]])))`;
const tenths = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Where one Like's time went, on the page's clock from the click (ms): to the worker's handling of the event
 * (the message and any task before it), the worker's steps (before the rank, the rank's own steps, the
 * snapshot sent: engine/events.ts, engine/feed.ts), to the page's handling of the new feed (the message back
 * and any task before it), React's render and commit (ui/useEngine.ts), to the test's observer.
 */
function likeSteps(clickAt: number, committed: number, event?: Measure, rank?: Measure, render?: Measure): Record<string, unknown> | undefined {
  if (!event || !render || event.start < clickAt - 1 || render.start < clickAt - 1) return undefined;
  const sent = event.start + event.duration;
  return {
    toWorker: tenths(event.start - clickAt),
    worker: Object.fromEntries(Object.entries(event.detail ?? {}).map(([step, ms]) => [step, tenths(ms)])),
    rank: rank && rank.start >= event.start ? Object.fromEntries(Object.entries(rank.detail ?? {}).map(([step, ms]) => [step, tenths(ms)])) : undefined,
    toPage: tenths(render.start - sent),
    render: tenths(render.duration),
    toObserver: tenths(clickAt + committed - (render.start + render.duration)),
  };
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!;

test(`a catalog of ${total.toLocaleString('en')} items as columns: a first recommendation, a Like re-ranks it, a reload reads everything from storage`, async ({
  page: testPage,
  context: testContext,
}) => {
  test.setTimeout(total > 200_000 ? 1_500_000 : 400_000);
  const files = await build();
  if (withModel)
    files.set(
      globalPath,
      Buffer.from(
        await partnerHeadFile({
          encoderId: modelId,
          embeddingDim: dim,
          ids: Array.from({ length: Math.min(total, MODEL_HEAD_ITEMS) }, (_, i) => `s${i}`),
          partners: [],
        }),
      ),
    );
  // Above 200,000 items a profile on disk, as a real visit has (a test's own context is off the record:
  // its OPFS is kept in memory).
  let context: BrowserContext = testContext;
  let page: Page = testPage;
  if (total > 200_000) {
    const { launchOptions, baseURL } = test.info().project.use;
    context = await chromium.launchPersistentContext(mkdtempSync('/tmp/scale-columns-profile-'), { ...launchOptions, baseURL, serviceWorkers: 'block' });
    page = context.pages()[0] ?? (await context.newPage());
  }
  // The engine is handed the columns URL in place of the app's catalog (the start message to its worker).
  await context.addInitScript(
    ({ from, to }) => {
      const post = Worker.prototype.postMessage;
      const swap = (value: unknown): unknown => {
        if (typeof value === 'string') return value.endsWith(from) ? value.slice(0, -from.length) + to : value;
        if (Array.isArray(value)) return value.map(swap);
        if (value && Object.getPrototypeOf(value) === Object.prototype) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swap(v)]));
        return value;
      };
      Worker.prototype.postMessage = function (message: unknown, ...rest: unknown[]) {
        return (post as (...args: unknown[]) => void).call(this, swap(message), ...rest);
      };
    },
    { from: '/catalog/goodbooks-10k.json', to: columnsPath },
  );
  // The files' GETs; the quota check's HEADs (engine/scale-quota.ts, sizes before the first byte) apart.
  const requests: string[] = [];
  const heads: string[] = [];
  // The worker's console warnings of the downloads and the read-ahead: a `.part` open asked again (the stall of
  // stop 35, engine/scale-download.ts), a read-ahead round that stopped on an error.
  const workerWarnings: string[] = [];
  context.on('console', (message) => {
    if (message.type() === 'warning' && /asked again|read-ahead/.test(message.text())) workerWarnings.push(message.text().slice(0, 200));
  });
  let firstShardAt = 0;
  // SCALE_CPU_THROTTLE=N: the page's CPU slowed N times (CDP), to look for timing-dependent failures.
  if (process.env.SCALE_CPU_THROTTLE) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: Number(process.env.SCALE_CPU_THROTTLE) });
  }
  // The last row shard is held back on the first visit until the page is reloaded in the middle of the
  // rows' download: the shards stored before are not asked for again.
  const lastRows = `/catalog/scale-shop.rows-${Math.ceil(total / ROW_SHARD_ITEMS) - 1}.bin`;
  let holdLastRows = true;
  // The columns (57 MB at 1M items) are held back on the first visit until the head's popular items
  // are on screen: the first recommendation does not wait for them.
  let releaseColumns!: () => void;
  const columnsReleased = new Promise<void>((resolve) => (releaseColumns = resolve));
  const serve = async (route: Route) => {
    const path = new URL(route.request().url()).pathname;
    (route.request().method() === 'HEAD' ? heads : requests).push(path);
    if (path === lastRows && holdLastRows) return; // never answered: the reload ends this request
    if (path === columnsPath) await columnsReleased;
    const file = files.get(path);
    if (!file) return route.fulfill({ status: 404, body: 'no such file' });
    await route.fulfill({ status: 200, headers: { 'Content-Type': 'application/octet-stream', ETag: '"fixture"' }, body: file });
    if (path.endsWith('.shard-0.emb')) firstShardAt ||= Date.now();
  };
  await context.route('**/catalog/scale-shop.*', serve);
  // What a returning visit may ask for: the head (after its first feed: is the kept catalog current?), and
  // the global model (read again at each visit's first rank with a Like in the history).
  const publisherFiles = () => requests.filter((path) => path !== headPath && !path.endsWith('.co-liked') && path !== globalPath);

  const start = Date.now();
  await page.goto('/');
  // The first recommendation: the head's popular items, while the columns are held back.
  await expect(feed(page)).toHaveCount(20, { timeout: 300_000 });
  const firstFeedMs = Date.now() - start;
  expect(requests).toContain(columnsPath);
  await expect(feed(page).first()).toContainText('Popular with readers');
  releaseColumns();
  // The engine's own feed once the columns are in (the search box comes with it).
  const columnsAt = Date.now();
  await expect(page.getByRole('search')).toBeVisible({ timeout: 600_000 });
  const columnsFeedMs = Date.now() - columnsAt;
  // The vectors' download (progress on the status line) and the rows after them.
  // (The last vector shard asked for first: the line is not on screen yet while the downloads wait to start.)
  const lastShard = `/catalog/scale-shop.${modelId}.shard-${planShards(total).length - 1}.emb`;
  await expect.poll(() => requests.includes(lastShard), { timeout: downloadsWait }).toBe(true);
  await expect(page.getByText(/Downloading the catalog's vectors/)).toBeHidden({ timeout: downloadsWait });
  const rowShards = Math.ceil(total / ROW_SHARD_ITEMS);
  // The rows: all but the last stored (shards come one at a time), the last one asked for and held back.
  await expect
    .poll(() => requests.filter((path) => path.includes('.rows-')).length, { timeout: downloadsWait })
    .toBe(rowShards)
    .catch((error: unknown) => {
      console.log('rows asked for:', JSON.stringify(requests.filter((path) => path.includes('.rows-'))), 'HEADs:', JSON.stringify(heads));
      throw error;
    });
  await expect(page.getByText(/Downloading the catalog's texts: [\d.]+ MB of [\d.]+ MB/)).toBeVisible();
  // A reload in the middle of the rows' download: only the shard not stored is asked for again.
  // The feed ranked again with the first vector shard stored (the worker's mark), from the shard's response.
  const firstVisitMarks = await engineWorkerMarks(context, page).catch(() => undefined);
  const firstShardRanked = firstVisitMarks?.['engine:first-shard-ranked'];
  const firstShardFeedMs =
    firstShardRanked === undefined || !firstShardAt ? undefined : Math.round(firstVisitMarks!.timeOrigin! + firstShardRanked - firstShardAt);
  const rowsBefore = requests.filter((path) => path.includes('.rows-'));
  const shardsRequested = requests.filter((path) => path.endsWith('.emb')).length;
  requests.length = 0;
  holdLastRows = false;
  await page.reload();
  await expect(feed(page)).toHaveCount(20, { timeout: 300_000 });
  await expect.poll(() => requests.filter((path) => path.includes('.rows-')), { timeout: 300_000 }).toEqual([lastRows]);
  // Stored: the last row file in OPFS (the status line may not have appeared yet when it is looked for).
  const lastRowFile = `catalog-rows-${rowShards - 1}.bin`;
  const storedRowFiles = () =>
    page.evaluate(async () => {
      type Dir = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };
      const names: string[] = [];
      const vectors = (await (await navigator.storage.getDirectory()).getDirectoryHandle('vectors')) as Dir;
      for await (const [name, handle] of vectors.entries()) {
        if (!name.endsWith('.rows') || handle.kind !== 'directory') continue;
        for await (const [file] of (handle as Dir).entries()) names.push(file);
      }
      return names;
    });
  await expect.poll(storedRowFiles, { timeout: downloadsWait }).toContain(lastRowFile);
  await expect(page.getByText(/Downloading the catalog's (vectors|texts)/)).toBeHidden({ timeout: 300_000 });
  expect([...new Set(rowsBefore)]).toEqual(Array.from({ length: rowShards }, (_, shard) => `/catalog/scale-shop.rows-${shard}.bin`));
  expect(requests.filter((path) => path.endsWith('.emb') || path.endsWith('.text-index') || path === columnsPath)).toEqual([]);
  const downloadedMs = Date.now() - (firstShardAt || start);
  // What the page says about the download (a refused shard, a storage error), for the record.
  const notes = (await page.locator('body').innerText()).split('\n').filter((line) => /shard|vector|storage|quota|ignored|could not/i.test(line));
  console.log(`scale-columns notes ${JSON.stringify({ shardsRequested, notes: notes.slice(0, 12), workerWarnings })}`);
  // The Privacy panel measures when it comes on screen and every 5 s while it stays there; its vectors'
  // row exists only once it has measured, so the panel is scrolled to, not the row (waiting for the row
  // to scroll to it waited for ever when no other change had made the panel measure: stop 34's "sizes
  // never answered" and a 1M run of stop 35).
  await page.getByRole('region', { name: 'Privacy' }).scrollIntoViewIfNeeded();
  const vectorsRow = page.getByRole('row', { name: /The catalog's vectors/ });
  await expect(vectorsRow).toContainText(total.toLocaleString('en'), { timeout: 120_000 });
  await page.evaluate(() => window.scrollTo(0, 0));

  // The engine's last read-ahead round before the Likes (the rows the next Like would read, engine/scale-readahead.ts).
  const readAheadBeforeLikes = ((await engineWorkerMarks(context, page).catch(() => undefined)) as { 'read-ahead'?: unknown } | undefined)?.['read-ahead'];
  // Each Like's pool (stage one, the rows it read, ms) and catalog rows read, from the worker's measures.
  const likeWorker: unknown[] = [];
  // Likes: each re-ranks the feed toward the liked item's group (stage one over the codes among all items).
  const likeMs: number[] = [];
  // SCALE_PROFILE=1: the first Like under a Chromium trace (e2e/scale-trace.ts), the four others under CPU profiles.
  let stopProfiles: (() => Promise<Record<string, string[]>>) | undefined;
  let group: string | undefined;
  if (withModel) {
    // A Like before the timed ones opens the global model; then wait for a rank by it (its 'model' step).
    const liked = (await feedTitles(page, 1))[0]!;
    group = groupOf(liked);
    await feed(page).first().getByRole('button', { name: 'Like' }).click();
    await expect.poll(() => requests.includes(globalPath), { timeout: 60_000 }).toBe(true);
    let modelRankedAt = 0;
    await expect
      .poll(
        async () => {
          const rank = (await inEngineWorker(context, page, measuresExpression(['engine:rank'])).catch(() => undefined)) as
            Record<string, Measure | undefined> | undefined;
          const measure = rank?.['engine:rank'];
          if (measure?.detail?.model !== undefined) modelRankedAt = measure.start + measure.duration;
          return modelRankedAt > 0;
        },
        { timeout: 60_000 },
      )
      .toBe(true);
    await expect.poll(async () => (await feedTitles(page, 10)).includes(liked)).toBe(false);
    // As before the Likes without the model: a read-ahead round for the model's feed has run.
    await expect
      .poll(
        async () => {
          const marks = (await engineWorkerMarks(context, page).catch(() => undefined)) as { timeOrigin?: number; 'read-ahead'?: { at: number } } | undefined;
          return marks?.timeOrigin !== undefined && marks['read-ahead'] !== undefined && marks.timeOrigin + marks['read-ahead'].at > modelRankedAt;
        },
        { timeout: 30_000 },
      )
      .toBe(true)
      .catch(() => console.log('scale-columns: no read-ahead round seen after the model opened'));
  }
  for (let like = 0; like < 5; like++) {
    const before = await feedTitles(page, 10);
    const liked = before[0]!;
    group ??= groupOf(liked);
    if (process.env.SCALE_PROFILE && like < 2) stopProfiles = await (like === 0 ? startTrace : startProfiles)(context, page);
    // Timed in the page (its clock, not Playwright's round trips): the click, the worker's re-rank, the
    // message back and React's commit of a feed without the liked card, then the next frame.
    const ms = await page.evaluate(async () => {
      const titles = () => Array.from(document.querySelectorAll('.feed-list > li h3'), (h) => h.textContent ?? '').slice(0, 10);
      const list = document.querySelector('.feed-list')!;
      const liked = titles()[0];
      const start = performance.now();
      const changed = new Promise<void>((resolve) => {
        const observer = new MutationObserver(() => {
          if (titles().includes(liked!)) return;
          observer.disconnect();
          resolve();
        });
        observer.observe(list, { childList: true, subtree: true, characterData: true });
      });
      document.querySelector<HTMLButtonElement>('.feed-list > li button.like')!.click();
      await changed;
      const committed = performance.now() - start;
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const render = performance.getEntriesByName('feed-render', 'measure')[0];
      return {
        committed,
        frame: performance.now() - start,
        clickAt: performance.timeOrigin + start,
        render: render && { start: performance.timeOrigin + render.startTime, duration: render.duration },
      };
    });
    likeMs.push(Math.round(ms.frame));
    if (like === 0 && stopProfiles) console.log(`scale-columns trace of the first like ${JSON.stringify(await stopProfiles(), null, 1)}`);
    const measures = (await engineWorkerMarks(context, page).catch(() => undefined)) as
      { pool?: unknown; 'catalog-load'?: unknown; 'read-ahead-first'?: unknown } | undefined;
    const worker = (await inEngineWorker(context, page, measuresExpression(['engine:event', 'engine:rank'])).catch(() => undefined)) as
      Record<string, Measure | undefined> | undefined;
    const steps = likeSteps(ms.clickAt, ms.committed, worker?.['engine:event'], worker?.['engine:rank'], ms.render);
    // The first card's read-ahead last run (engine/scale-readahead.ts), before or after this Like: see its `at`.
    likeWorker.push({
      committed: Math.round(ms.committed),
      pool: measures?.pool,
      catalog: measures?.['catalog-load'],
      readAheadFirst: measures?.['read-ahead-first'],
      steps,
    });
    expect((await feedTitles(page, 10)).includes(liked)).toBe(false);
  }
  if (stopProfiles) console.log(`scale-columns profile ${JSON.stringify(await stopProfiles(), null, 1)}`);
  // The Likes' figures now, not only in the last line: a later step that fails (the returning visit's checks) keeps them.
  console.log(
    `scale-columns likes ${JSON.stringify({ items: total, model: withModel, readAheadBeforeLikes, likeMs, likeWorker, likeP50: percentile(likeMs, 0.5), likeP95: percentile(likeMs, 0.95) })}`,
  );
  await expect.poll(async () => (await feedTitles(page, 10)).filter((title) => groupOf(title) === group).length).toBeGreaterThanOrEqual(5);

  const heap = await engineWorkerHeap(context, page).catch(() => undefined);

  // A reload: codes, vectors and rows from OPFS; the last feed kept in localStorage is cleared so that
  // the feed timed is the engine's own.
  requests.length = 0;
  await page.evaluate(() => localStorage.clear());
  const reloaded = Date.now();
  await page.reload();
  await expect(feed(page)).toHaveCount(20, { timeout: 300_000 });
  const returningMs = Date.now() - reloaded;
  // Nothing was asked of the network before that feed: the columns, codes, vectors and rows are kept.
  expect(publisherFiles()).toEqual([]);
  const workerMarks = await engineWorkerMarks(context, page).catch(() => undefined);
  // The page's clock: its first recommendation (ui/first-recommendation.ts) and when the worker started, from the navigation.
  const pageClock = await page.evaluate(() => ({ origin: performance.timeOrigin, first: performance.getEntriesByName('first-recommendation')[0]?.startTime }));
  const returningMarks = workerMarks && {
    ...workerMarks,
    timeOrigin: undefined,
    workerStartedInPage: Math.round(workerMarks.timeOrigin! - pageClock.origin),
    firstRecommendationInPage: pageClock.first === undefined ? undefined : Math.round(pageClock.first),
  };
  await expect
    .poll(async () => (await feedTitles(page, 10)).filter((title) => groupOf(title) === group).length, { timeout: 120_000 })
    .toBeGreaterThanOrEqual(5);
  expect(publisherFiles()).toEqual([]);
  // A reload as a reader's: the feed kept in localStorage is painted before the engine's (ui/kept-shell.ts).
  const keptAt = Date.now();
  await page.reload();
  await expect(feed(page)).toHaveCount(20, { timeout: 300_000 });
  const returningKeptMs = Date.now() - keptAt;
  const keptFirstInPage = await page.evaluate(() => performance.getEntriesByName('first-recommendation')[0]?.startTime);
  if (context !== testContext) await context.close();
  console.log(
    `scale-columns ${JSON.stringify({ items: total, model: withModel, firstFeedMs, columnsFeedMs, firstShardFeedMs, downloadedMs, readAheadBeforeLikes, likeMs, likeWorker, likeP50: percentile(likeMs, 0.5), likeP95: percentile(likeMs, 0.95), returningMs, returningMarks, returningKeptMs, keptFirstInPage: keptFirstInPage && Math.round(keptFirstInPage), workerHeapMiB: heap && { used: heap.used / 2 ** 20, backing: (heap.backing ?? 0) / 2 ** 20 } })}`,
  );
});
