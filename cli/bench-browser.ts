/**
 * `npm run bench -- browser [--runs N] [--only returning] [--json FILE]`: speed of the built app in headless Chromium.
 * Serves dist/ with `vite preview` on its own port and reports median and p95 of:
 *  - time to first recommendation on screen (the top card's title painted, by Element Timing), first visit
 *    (empty profile) and returning visit (embeddings cached); and to the feed's commit to the DOM (the
 *    `first-recommendation` mark, before style, layout and paint); for the returning visit also the
 *    engine worker's own marks on the page's clock (worker started, catalog fetched and parsed, stored
 *    state read, first feed: where the time goes);
 *  - catalog embedding throughput of the default encoder (items/s, from the first visit's progress);
 *  - main-thread long tasks (> 50 ms) while the catalog is embedded and while the model trains (count;
 *    target 0), and, apart, those at page load before embedding starts;
 *  - latency from a click on "Like" to the re-ranked feed painted (returning visit; and on a first visit
 *    while the catalog is embedded, which the encoder's own worker keeps off the engine's path);
 *  - latency from a click on "Search" to the re-ranked feed painted, on a first visit while the catalog
 *    is embedded: searches in a row (0.5 s apart), and each after a pause longer than the encoder's
 *    quiet period (EncoderPool.userActive), as a user who reads the feed before typing: then every copy
 *    of the text model is reading when the query comes;
 *  - JavaScript loaded before the first recommendation and the worker's bundle, gzip-compressed;
 *  - top-10 ranking latency (HybridModel + rankFeed in a worker) over synthetic 10,000 and 100,000 items.
 * The default catalog's shipped files (vectors, global model, co-liked neighbours) answer 404 except in the
 * row that names them, so the other rows measure a catalog the app embeds itself (see withProfile).
 * Build first with the labs (`VITE_LABS=1 npm run build`: the rank-latency step runs in the encoder lab). Chromium: $PLAYWRIGHT_CHROMIUM_PATH or /usr/bin/chromium.
 */
import { chromium, type BrowserContext } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { USER_ACTIVE_MS } from '../src/core/encoder-pool';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    json: { type: 'string' },
    port: { type: 'string', default: '4190' },
    /** 'returning': only the rows of the returning visit (one full first visit to cache the catalog, then the reloads). */
    only: { type: 'string' },
  },
});
const everything = values.only !== 'returning';
const runs = Number(values.runs);
const origin = `http://127.0.0.1:${values.port}`;
const executablePath = CHROMIUM_PATH;
const args = [...CHROMIUM_ARGS];

if (!existsSync('dist/index.html')) {
  console.error('dist/ is missing: run `VITE_LABS=1 npm run build` first.');
  process.exit(2);
}
// Its own process group: killing npx alone leaves vite serving the port after the bench.
const server = spawn('npx', ['vite', 'preview', '--port', values.port!, '--strictPort', '--host', '127.0.0.1'], { stdio: 'ignore', detached: true });
if (await fetch(origin).then(() => true, () => false)) console.error(`port ${values.port} already serves something: measuring that server (stop it, or pass --port)`);
for (let i = 0; i < 100 && !(await fetch(origin).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 200));

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * Milliseconds from navigation start to the feed's commit (mark) and to its top title's first paint, and
 * to each of the engine worker's marks (engine.ts: catalog fetched, parsed, stored state read, first feed).
 */
async function timeToFirstRecommendation(context: BrowserContext): Promise<{ committed: number; painted: number; engine: Record<string, number> }> {
  const page = await context.newPage();
  await page.goto(origin);
  await page.waitForFunction(() => performance.getEntriesByName('first-recommendation').length > 0, null, { timeout: 60_000 });
  const times = await page.evaluate(
    () =>
      new Promise<{ committed: number; painted: number }>((resolve, reject) => {
        const committed = performance.getEntriesByName('first-recommendation')[0]!.startTime;
        setTimeout(() => reject(new Error('no Element Timing entry "first-recommendation": is the top card\'s title still marked (src/ui/Feed.tsx)?')), 10_000);
        // Element Timing (src/ui/Feed.tsx): buffered, so the entry is there even if it came first.
        new PerformanceObserver((list, observer) => {
          const entry = (list.getEntries() as (PerformanceEntry & { identifier: string; renderTime: number })[]).find((e) => e.identifier === 'first-recommendation');
          if (!entry) return;
          observer.disconnect();
          resolve({ committed, painted: entry.renderTime });
        }).observe({ type: 'element', buffered: true });
      }),
  );
  // Where the time went in the engine's worker (its performance marks, engine.ts), on the page's clock.
  // A returning visit paints the feed it kept (src/storage/last-feed.ts) before the engine has ranked:
  // its marks are read once the engine's own first feed is there too.
  const engine: Record<string, number> = {};
  const pageOrigin = await page.evaluate(() => performance.timeOrigin);
  const engineWorkers = async () => {
    const found = [];
    for (const worker of page.workers()) {
      if (await worker.evaluate(() => performance.getEntriesByName('engine:first-feed').length > 0).catch(() => false)) found.push(worker);
    }
    return found;
  };
  for (let waited = 0; waited < 30_000 && (await engineWorkers()).length === 0; waited += 50) await new Promise((r) => setTimeout(r, 50));
  for (const worker of page.workers()) {
    const marks = await worker
      .evaluate(() => ({ origin: performance.timeOrigin, marks: performance.getEntriesByType('mark').map((mark) => [mark.name, mark.startTime] as const) }))
      .catch(() => undefined);
    if (!marks?.marks.some(([name]) => name.startsWith('engine:'))) continue;
    const offset = marks.origin - pageOrigin;
    engine['worker started'] = offset;
    for (const [name, at] of marks.marks) if (name.startsWith('engine:')) engine[name.slice('engine:'.length)] = at + offset;
  }
  await page.close();
  return { ...times, engine };
}

/**
 * A browser on profile `dir`. The default catalog ships precomputed vectors, a global model and co-liked
 * neighbours beside it; unless `shippedFiles`, they answer 404 here, so the rows measure what the app
 * does with a catalog that has none (a host's): it embeds the catalog itself, as the e2e suite's visits do.
 */
async function withProfile<T>(dir: string, body: (context: BrowserContext) => Promise<T>, { shippedFiles = false } = {}): Promise<T> {
  const context = await chromium.launchPersistentContext(dir, { executablePath, args });
  if (!shippedFiles) await context.route(/\/catalog\/[^/?#]+\.(emb|global|co-liked)(?:[?#]|$)/, (route) => route.fulfill({ status: 404, body: 'not in this bench row' }));
  try {
    return await body(context);
  } finally {
    await context.close();
  }
}

/**
 * Clicks "Like" on the top item `count` times; each sample runs from the click to the first animation
 * frame after the feed's list changed (the re-ranked feed is on screen).
 */
async function likeLatencies(context: BrowserContext, count = 20, { whileEmbedding = false } = {}): Promise<number[]> {
  const page = await context.newPage();
  await page.goto(origin);
  await page.waitForFunction(() => document.querySelectorAll('.feed-list > li').length > 0, null, { timeout: 60_000 });
  // The engine's own feed, not the one the page kept from the last visit (src/storage/last-feed.ts): a
  // Like on a kept card waits for the engine to be ready, which is the returning visit's row above.
  await page.getByRole('search').waitFor({ timeout: 60_000 });
  if (whileEmbedding) {
    // First visit: once the on-device model runs (after the first 1,024 books), while the rest embed.
    await page.getByRole('region', { name: 'Model' }).getByText('Hybrid matrix factorisation').waitFor({ timeout: 180_000 });
    if ((await page.locator('#embedding-progress').count()) === 0) throw new Error('the catalog finished embedding before the likes');
  }
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    samples.push(
      await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            const list = document.querySelector('.feed-list')!;
            const button = list.querySelector<HTMLButtonElement>('li button.like')!;
            let clickedAt = 0;
            new MutationObserver((_, observer) => {
              observer.disconnect();
              requestAnimationFrame(() => resolve(performance.now() - clickedAt));
            }).observe(list, { childList: true, subtree: true, characterData: true });
            clickedAt = performance.now();
            button.click();
          }),
      ),
    );
    await page.waitForTimeout(100);
  }
  await page.close();
  return samples;
}

/** Searches typed while the catalog is read: each needs the text model, which is busy reading. */
const QUERIES = [
  'space opera with a strong heroine', 'a light summer comedy', 'dragons and a school of magic', 'the second world war at sea',
  'a detective in victorian london', 'a love story in paris', 'robots that learn to feel', 'growing up in the american south',
  'a cookbook for busy weeknights', 'mountaineering disaster memoir', 'a family saga across three generations', 'poems about the sea',
];

/** A pause longer than the encoder pool's quiet period: the search finds every copy reading. */
const PAUSE_BEFORE_SEARCH_MS = USER_ACTIVE_MS + 500;

/**
 * On a first visit, once the on-device model runs and while the rest of the catalog is read: each
 * sample runs from a click on "Search" (a new query each time) to the first animation frame after the
 * feed stops being busy (the engine has embedded the query with the text model and re-ranked).
 * `pauseMs` passes between one answer and the next search. A search after a long pause may find the
 * catalog read (a fast machine): the samples so far are returned, and the row's count says how many.
 */
async function queryLatencies(context: BrowserContext, pauseMs: number): Promise<number[]> {
  const page = await context.newPage();
  await page.goto(origin);
  await page.getByRole('region', { name: 'Model' }).getByText('Hybrid matrix factorisation').waitFor({ timeout: 180_000 });
  const samples: number[] = [];
  for (const query of QUERIES) {
    if ((await page.locator('#embedding-progress').count()) === 0) {
      if (samples.length > 0 && pauseMs > 500) break;
      throw new Error('the catalog finished embedding before the searches');
    }
    await page.getByLabel('What are you in the mood for?').fill(query);
    samples.push(
      await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            const list = document.querySelector('.feed-list')!;
            let clickedAt = 0;
            let busy = false;
            new MutationObserver((_, observer) => {
              if (list.getAttribute('aria-busy') === 'true') busy = true;
              else if (busy) {
                observer.disconnect();
                requestAnimationFrame(() => resolve(performance.now() - clickedAt));
              }
            }).observe(list, { attributes: true, attributeFilter: ['aria-busy'] });
            clickedAt = performance.now();
            document.querySelector<HTMLButtonElement>('form[role="search"] button[type="submit"]')!.click();
          }),
      ),
    );
    await page.waitForTimeout(pauseMs);
  }
  await page.close();
  return samples;
}

/** rankFeed over a synthetic catalog, in the encoder lab's worker (the engine's own modules). */
/** Timed ranks per catalog size, after RANKING_WARMUP untimed ones (the first of which is reported apart). */
const RANKING_RUNS = 50;
const RANKING_WARMUP = 5;

async function rankingLatencies(items: number): Promise<{ cold: number[]; samples: number[] }> {
  // --expose-gc: the lab collects the synthetic catalog's construction garbage before timing (see rankLatency).
  const browser = await chromium.launch({ executablePath, args: [...args, '--js-flags=--expose-gc'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/e2e/lab/encoders.html`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    type Lab = { rankLatency(n: number, runs: number, warmup: number): Promise<{ cold: number[]; samples: number[] }> };
    // Runs in the page: everything it uses comes in as the argument.
    return await page.evaluate(({ n, runs, warmup }) => (window as unknown as { encoderLab: Lab }).encoderLab.rankLatency(n, runs, warmup), {
      n: items,
      runs: RANKING_RUNS,
      warmup: RANKING_WARMUP,
    });
  } finally {
    await browser.close();
  }
}

/** Gzip size of the JS the page loaded before its first recommendation, and of the worker bundle. */
async function bundleSizes(): Promise<{ initialKb: number; workerKb: number; files: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-bundle-'));
  try {
    return await withProfile(dir, async (context) => {
      const page = await context.newPage();
      await page.goto(origin);
      await page.waitForFunction(() => performance.getEntriesByName('first-recommendation').length > 0, null, { timeout: 60_000 });
      const before = await page.evaluate(() => {
        const mark = performance.getEntriesByName('first-recommendation')[0]!.startTime;
        return performance
          .getEntriesByType('resource')
          .filter((entry) => entry.startTime <= mark && /\.m?js(\?|$)/.test(entry.name))
          .map((entry) => new URL(entry.name).pathname);
      });
      const gzipKb = async (path: string) => gzipSync(await readFile(join('dist', path))).length / 1024;
      let initialKb = 0;
      for (const path of before) initialKb += await gzipKb(path);
      const worker = (await readdir('dist/assets')).find((file) => /^worker-.*\.js$/.test(file));
      return { initialKb, workerKb: worker ? await gzipKb(`assets/${worker}`) : NaN, files: before };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Each measure's summary, and its samples in the order taken (in the JSON: a tail is easier to read with them). */
const results: Record<string, { median: number; p95: number; unit: string; runs: number; samples: number[] }> = {};
const record = (name: string, unit: string, samples: number[]) => {
  results[name] = { median: quantile(samples, 0.5), p95: quantile(samples, 0.95), unit, runs: samples.length, samples: samples.map((x) => Math.round(x * 10) / 10) };
};

try {
  const firstVisit: { committed: number; painted: number }[] = [];
  for (let i = 0; i < (everything ? runs : 0); i++) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-first-'));
    firstVisit.push(await withProfile(dir, timeToFirstRecommendation));
    await rm(dir, { recursive: true, force: true });
  }
  if (everything) record('first recommendation on screen, first visit', 'ms', firstVisit.map((t) => t.painted));
  if (everything) record('first recommendation committed to the DOM, first visit', 'ms', firstVisit.map((t) => t.committed));
  // The default catalog as it ships: its precomputed vectors rank every book from the first feed.
  const shippedVisit: { committed: number; painted: number }[] = [];
  for (let i = 0; i < (everything ? runs : 0); i++) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-shipped-'));
    shippedVisit.push(await withProfile(dir, timeToFirstRecommendation, { shippedFiles: true }));
    await rm(dir, { recursive: true, force: true });
  }
  if (everything) record('first recommendation on screen, first visit with the shipped vectors and model', 'ms', shippedVisit.map((t) => t.painted));

  // One full visit embeds and caches the whole catalog; its progress gives the throughput.
  const dir = await mkdtemp(join(tmpdir(), 'bench-returning-'));
  const { throughput, longTasks } = await withProfile(dir, async (context) => {
    const page = await context.newPage();
    // Every main-thread task over 50 ms from the start of the page, with its start time: embedding and
    // training run in workers and must cause none.
    await page.addInitScript(() => {
      const tasks: number[] = [];
      (window as unknown as { benchLongTasks: number[] }).benchLongTasks = tasks;
      new PerformanceObserver((list) => list.getEntries().forEach((entry) => tasks.push(entry.startTime))).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(origin);
    const progress = page.locator('#embedding-progress');
    await progress.waitFor({ timeout: 60_000 });
    const embeddingFrom = await page.evaluate(() => performance.now());
    const read = async () => Number(await progress.getAttribute('value').catch(() => null));
    const start = { at: performance.now(), done: await read() };
    const total = Number(await progress.getAttribute('max'));
    await progress.waitFor({ state: 'detached', timeout: 600_000 });
    const itemsPerSecond = (total - start.done) / ((performance.now() - start.at) / 1000);
    // Training: three likes start a fine-tune over the history once the user pauses (2.5 s).
    const trainingFrom = await page.evaluate(() => performance.now());
    for (let i = 0; i < 3; i++) {
      await page.locator('.feed-list > li button.like').first().click();
      await page.waitForTimeout(300);
    }
    const training = page.locator('#training-progress');
    await training.waitFor({ timeout: 30_000 });
    await training.waitFor({ state: 'detached', timeout: 300_000 });
    await page.waitForTimeout(500); // the observer reports a task after it ends
    const starts = await page.evaluate(() => (window as unknown as { benchLongTasks: number[] }).benchLongTasks);
    const between = (from: number, to = Infinity) => starts.filter((at) => at >= from && at < to).length;
    return {
      throughput: itemsPerSecond,
      longTasks: { load: between(0, embeddingFrom), embedding: between(embeddingFrom, trainingFrom), training: between(trainingFrom) },
    };
  });
  record('catalog embedding (USE Lite, WASM)', 'items/s', [throughput]);
  record('main-thread long tasks > 50 ms while the catalog is embedded (first visit)', 'count', [longTasks.embedding]);
  record('main-thread long tasks > 50 ms from three likes to the end of the fine-tune they start', 'count', [longTasks.training]);
  record('main-thread long tasks > 50 ms at page load, before embedding starts (first visit)', 'count', [longTasks.load]);
  const returning: Awaited<ReturnType<typeof timeToFirstRecommendation>>[] = [];
  for (let i = 0; i < runs; i++) returning.push(await withProfile(dir, timeToFirstRecommendation));
  record('first recommendation on screen, returning visit', 'ms', returning.map((t) => t.painted));
  record('first recommendation committed to the DOM, returning visit', 'ms', returning.map((t) => t.committed));
  for (const step of Object.keys(returning[0]!.engine)) {
    record(`returning visit, engine worker: ${step} (since navigation)`, 'ms', returning.map((t) => t.engine[step] ?? NaN));
  }
  record('Like → re-ranked feed painted (returning visit, from the first feed on)', 'ms', await withProfile(dir, likeLatencies));
  if (everything) {
    const embeddingDir = await mkdtemp(join(tmpdir(), 'bench-embedding-'));
    record(
      'Like → re-ranked feed painted (first visit, while the catalog is embedded)',
      'ms',
      await withProfile(embeddingDir, (context) => likeLatencies(context, 20, { whileEmbedding: true })),
    );
    await rm(embeddingDir, { recursive: true, force: true });
    for (const [label, pauseMs] of [
      ['search → re-ranked feed painted (first visit, while the catalog is embedded)', 500],
      [`search after a ${PAUSE_BEFORE_SEARCH_MS / 1000} s pause → re-ranked feed painted (first visit, while the catalog is embedded)`, PAUSE_BEFORE_SEARCH_MS],
    ] as const) {
      const queryDir = await mkdtemp(join(tmpdir(), 'bench-query-'));
      record(label, 'ms', await withProfile(queryDir, (context) => queryLatencies(context, pauseMs)));
      await rm(queryDir, { recursive: true, force: true });
    }
  }
  await rm(dir, { recursive: true, force: true });
  for (const items of [10_000, 100_000]) {
    const { cold, samples } = await rankingLatencies(items);
    record(`top-10 ranking over ${items.toLocaleString('en')} items (worker)`, 'ms', samples);
    record(`top-10 ranking over ${items.toLocaleString('en')} items, first rank in a fresh worker (V8 compiling)`, 'ms', [cold[0]!]);
  }
  const sizes = await bundleSizes();
  record(`JS before first recommendation (page; worker and TF.js load in the worker)`, 'KB gzip', [sizes.initialKb]);
  record('worker bundle (without the lazily loaded TF.js runtime)', 'KB gzip', [sizes.workerKb]);
} finally {
  try {
    process.kill(-server.pid!, 'SIGTERM');
  } catch {
    server.kill();
  }
}

console.log(`\n| measure | median | p95 | unit | runs |\n|---|---:|---:|---|---:|`);
for (const [name, r] of Object.entries(results)) {
  const digits = r.unit === 'ms' || r.unit === 'count' ? 0 : 1;
  console.log(`| ${name} | ${r.median.toFixed(digits)} | ${r.p95.toFixed(digits)} | ${r.unit} | ${r.runs} |`);
}
if (values.json) {
  await mkdir(dirname(values.json), { recursive: true });
  await writeFile(values.json, JSON.stringify(results, null, 2));
}
