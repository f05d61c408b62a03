/**
 * Cross-origin isolation of the reference deployment (`vite preview`, vite.config.ts; headers in
 * csp.ts): the app's page and every worker it starts — engine worker → encoder worker → ONNX Runtime's
 * thread workers — are isolated, so ONNX Runtime Web embeds on several WASM threads, with the same
 * vectors as on one; where a runtime cannot thread (TF.js, or ONNX Runtime without isolation) the app
 * runs copies of the model in workers of their own and shares every batch between them, with the same
 * vectors again. Without the headers (a host that does not send them, a widget's host page) the
 * same code runs single-threaded, without errors. (Offline, pages and workers served by the service
 * worker keep the headers they were cached with, and stay isolated: pwa.spec.ts, on its offline visit.)
 */
import { existsSync, readFileSync } from 'node:fs';
import type { BrowserContext, Page, Worker } from '@playwright/test';
import type { Remote } from 'comlink';
import type { ModelManifest } from '../src/core/encoder-registry';
import type { EncoderLab } from './lab/encoder-lab-worker';
import { expect, feed, test } from './fixtures';

const MODEL = 'Xenova/all-MiniLM-L6-v2';
const manifestPath = 'public/models/manifest.json';
const installed = existsSync(manifestPath) && (JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest).models.some((m) => m.id === MODEL);
const TEXTS = ['The Hobbit by J.R.R. Tolkien', 'A long, slow family saga across three generations of a fishing village', '一部轻松的喜剧', 'space opera with a strong heroine', 'Pride and Prejudice', 'word '.repeat(300)];
/** Twelve texts: one batch of two model runs (core/encoder.ts RUN_SIZE 8), which a pool of two shares out. */
const BATCH_OF_TWO_RUNS = [...TEXTS, ...TEXTS.map((text) => `${text} again`)];
/** The same q8 graph, the same runs: threads and copies only split the work. */
const THREADS_MAX_ABS_DIFFERENCE = 1e-4;

type Lab = Remote<EncoderLab>;
declare global {
  interface Window {
    encoderLab: Lab;
  }
}

test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'isolation and WASM threads do not depend on WebGPU: run once'));

const maxAbsDifference = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

async function openLab(page: Page): Promise<void> {
  await page.goto('/e2e/lab/encoders.html');
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
}

/** Loads MiniLM (WASM, q8) in one encoder worker with `threads` (default: all cores, up to 4); embeds TEXTS. */
async function embedInEncoderWorker(page: Page, threads?: number) {
  const runtime = await page.evaluate(({ model, threads }) => window.encoderLab.loadInEncoderWorker(model, threads), { model: MODEL, threads });
  const { vectors } = await page.evaluate((texts) => window.encoderLab.embed(texts, 3), TEXTS);
  // q8 scales activations per model run, so vectors are compared between runs of the same texts.
  const { vectors: inOneBatch } = await page.evaluate((texts) => window.encoderLab.embed(texts, texts.length), BATCH_OF_TWO_RUNS);
  return { ...runtime, vectors, inOneBatch };
}

/**
 * Loads MiniLM (WASM, q8) as the app runs it: a pool of copies in encoder workers of their own
 * (core/encoder-pool.ts); embeds TEXTS twice over in one batch, so that the batch is split between copies.
 */
async function embedAsTheAppDoes(page: Page) {
  const runtime = await page.evaluate((model) => window.encoderLab.loadPoolAsTheAppDoes(model), MODEL);
  const { vectors } = await page.evaluate((texts) => window.encoderLab.embed(texts, texts.length), BATCH_OF_TWO_RUNS);
  return { ...runtime, vectors };
}

/** Copies of a WASM encoder without threads the app runs here (core/encoder-pool.ts encoderPoolPlan): 2 from 2 cores on, 1 with under 4 GiB. */
async function expectedCopies(page: Page): Promise<number> {
  const { cores, memory } = await page.evaluate(() => ({ cores: navigator.hardwareConcurrency, memory: (navigator as Navigator & { deviceMemory?: number }).deviceMemory }));
  return memory !== undefined && memory < 4 ? 1 : Math.min(cores, 2);
}

/**
 * A context whose responses lose COOP and COEP: a deployment (or host page) that does not send them. Only the
 * responses those headers act on go through the route: documents and scripts (a worker's isolation comes from
 * its script's response and its owner's). The rest (the model's 23 MB and ONNX Runtime's 14 MB WASM, loaded
 * several times) comes straight from the server: through route.fetch and fulfill each passed through this
 * process, several seconds of the test (stop 40).
 */
const ISOLATION_HEADERS_ACT_ON = /(\.html|\.m?js|\/)$/;

async function withoutIsolationHeaders(context: BrowserContext): Promise<void> {
  await context.route((url) => ISOLATION_HEADERS_ACT_ON.test(url.pathname), async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers['cross-origin-opener-policy'];
    delete headers['cross-origin-embedder-policy'];
    await route.fulfill({ response, headers });
  });
}

async function waitForWorker(page: Page, name: RegExp): Promise<Worker> {
  await expect.poll(() => page.workers().some((worker) => name.test(worker.url())), { timeout: 120_000 }).toBe(true);
  return page.workers().find((worker) => name.test(worker.url()))!;
}

test('the app page, its engine worker and its encoder worker are cross-origin isolated', async ({ page }) => {
  const response = await page.goto('/');
  expect(response!.headers()['cross-origin-opener-policy']).toBe('same-origin');
  expect(response!.headers()['cross-origin-embedder-policy']).toBe('require-corp');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expect(feed(page)).toHaveCount(20);
  const engine = await waitForWorker(page, /\/assets\/worker-[^/]*\.js$/);
  expect(await engine.evaluate(() => self.crossOriginIsolated)).toBe(true);
  // Nested: started by the engine worker to read the catalog with the text model, one per copy of it
  // (core/encoder-pool.ts: USE Lite on TF.js's WASM backend cannot thread, so two copies from two cores on).
  await waitForWorker(page, /\/assets\/encoder-worker-[^/]*\.js$/);
  const copies = await expectedCopies(page);
  const encoderWorkers = () => page.workers().filter((worker) => /\/assets\/encoder-worker-[^/]*\.js$/.test(worker.url()));
  await expect.poll(() => encoderWorkers().length, { timeout: 60_000 }).toBe(copies);
  for (const encoder of encoderWorkers()) {
    expect(await encoder.evaluate(() => self.crossOriginIsolated)).toBe(true);
    expect(await encoder.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
  }
});

// Serial: the isolated single-thread run of the first test is the reference the second compares with
// (it used to load the model on one thread in an isolated page again for that).
test.describe.serial('ONNX Runtime Web threads', () => {
  test.skip(!installed, `${MODEL} is not in public/models: run npm run models`);
  let isolatedSingleThread: Awaited<ReturnType<typeof embedInEncoderWorker>> | undefined;

  test('isolated: the encoder worker runs on several WASM threads, with the vectors of one thread', async ({ page }) => {
    await openLab(page);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    test.skip(cores < 2, 'one logical core: nothing to thread');
    const threaded = await embedInEncoderWorker(page);
    expect(threaded.crossOriginIsolated).toBe(true);
    expect(threaded.threads).toBe(Math.min(cores, 4));
    // ONNX Runtime's own thread workers, started from our origin (the WASM-only build: ORT_WASM_BUILDS).
    expect(page.workers().some((worker) => worker.url().endsWith('/models/onnxruntime-web/ort-wasm-simd-threaded.mjs'))).toBe(true);
    const single = await embedInEncoderWorker(page, 1);
    expect(single.threads).toBe(1);
    expect(single.crossOriginIsolated).toBe(true);
    isolatedSingleThread = single;
    expect(threaded.vectors).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) expect(maxAbsDifference(threaded.vectors[i]!, single.vectors[i]!)).toBeLessThan(THREADS_MAX_ABS_DIFFERENCE);
    // As the app runs it (encoderPoolPlan): isolated, ONNX Runtime threads, so one copy on every core.
    const app = await embedAsTheAppDoes(page);
    expect(app).toMatchObject({ crossOriginIsolated: true, copies: 1, threads: [Math.min(cores, 4)] });
    expect(app.vectors).toHaveLength(BATCH_OF_TWO_RUNS.length);
    for (let i = 0; i < BATCH_OF_TWO_RUNS.length; i++) expect(maxAbsDifference(app.vectors[i]!, single.inOneBatch[i]!)).toBeLessThan(THREADS_MAX_ABS_DIFFERENCE);
  });

  test('not isolated (no COOP/COEP): one thread, no SharedArrayBuffer errors, the same vectors', async ({ page, context }) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && /SharedArrayBuffer|crossOriginIsolated|pthread/i.test(message.text()) && errors.push(message.text()));
    await withoutIsolationHeaders(context);
    await openLab(page);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    const result = await embedInEncoderWorker(page);
    expect(result).toMatchObject({ crossOriginIsolated: false, threads: 1 });
    // The app still uses the cores: no threads, so copies of one thread each (encoderPoolPlan).
    const app = await embedAsTheAppDoes(page);
    const copies = await expectedCopies(page);
    expect(app).toMatchObject({ crossOriginIsolated: false, copies, threads: Array(copies).fill(1) });
    expect(page.workers().some((worker) => worker.url().includes('ort-wasm'))).toBe(false);
    // The reference: the same model on one thread in an isolated page (the test before's, unless it was skipped).
    let isolatedSingle = isolatedSingleThread;
    if (!isolatedSingle) {
      await context.unrouteAll({ behavior: 'wait' });
      await openLab(page);
      isolatedSingle = await embedInEncoderWorker(page, 1);
    }
    expect(isolatedSingle.crossOriginIsolated).toBe(true);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(maxAbsDifference(result.vectors[i]!, isolatedSingle.vectors[i]!)).toBeLessThan(THREADS_MAX_ABS_DIFFERENCE);
    }
    for (let i = 0; i < BATCH_OF_TWO_RUNS.length; i++) expect(maxAbsDifference(app.vectors[i]!, isolatedSingle.inOneBatch[i]!)).toBeLessThan(THREADS_MAX_ABS_DIFFERENCE);
    expect(errors).toEqual([]);
  });
});
