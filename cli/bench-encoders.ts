/**
 * `npm run bench -- encoders [--items N] [--webgpu-items N] [--batch N] [--port P] [--json FILE] [--skip-webgpu] [--skip-single-thread]`:
 * items/second embedding catalog texts (goodbooks-10k, most popular first) with
 *  - USE Lite on TF.js wasm, in Chromium, as the app runs it: copies of the model in encoder workers
 *    of their own sharing every batch (core/encoder-pool.ts; 2 on 2 cores); then in one encoder worker;
 *  - Transformers.js on wasm, q8, in Chromium (the MiniLM files in public/models: the fixture here),
 *    as the app runs it: a pool as above, on the WASM-only ONNX Runtime build, each copy with its share
 *    of the cores as threads (encoderPoolPlan; the lab page is served cross-origin isolated by `vite
 *    preview`); then one copy on every core (up to 4) as threads, the app's way before the pool; one
 *    copy on 1 thread; and on the asyncify build Transformers.js picks by itself (WebGPU + WASM);
 *  - Transformers.js on WebGPU, in Chromium with --enable-unsafe-webgpu (SwiftShader here: says
 *    nothing about a real GPU);
 *  - onnxruntime-node (through Transformers.js, device cpu) on the same ONNX file: the native reference,
 *    on its default threads (one per physical core), and on 1 thread for a per-thread comparison;
 * and the ratio browser WASM (as the app runs it) / native. Each row says its copies and threads, and the
 * load average is printed: the machine may be shared. Build first with the labs (`VITE_LABS=1 npm run build`).
 */
import { chromium, type Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium';
import { availableParallelism, loadavg } from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Remote } from 'comlink';
import { encoderSpec, type ModelDtype, type ModelManifest } from '../src/core/encoder-registry';
import { encoderText } from '../src/core/item-text';
import type { EncoderLab } from '../e2e/lab/encoder-lab-worker';
import { TransformersEncoder, useLocalModelsOnly } from '../src/engine/transformers-encoder';
import { PROJECT_ROOT, PUBLIC_MODELS_DIR } from './model-paths';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000' },
    // SwiftShader is slow and its GPU process has crashed on 1,000 texts at batch 32 here: a smaller default.
    'webgpu-items': { type: 'string', default: '128' },
    'webgpu-batch': { type: 'string', default: '8' },
    batch: { type: 'string', default: '32' },
    port: { type: 'string', default: '4184' },
    json: { type: 'string' },
    'skip-webgpu': { type: 'boolean', default: false },
    'skip-single-thread': { type: 'boolean', default: false },
  },
});
/** Load average before the bench starts: what the machine's other users were doing. */
const loadBefore = loadavg().map((value) => value.toFixed(2)).join(', ');
const items = Number(values.items);
const webgpuItems = Number(values['webgpu-items']);
const batchSize = Number(values.batch);
const origin = `http://127.0.0.1:${values.port}`;
const MODEL = 'Xenova/all-MiniLM-L6-v2';
const executablePath = CHROMIUM_PATH;
const args = [...CHROMIUM_ARGS];

if (!existsSync(join(PROJECT_ROOT, 'dist', 'e2e', 'lab', 'encoders.html'))) {
  console.error('dist/ lacks the encoder lab: run `VITE_LABS=1 npm run build` first.');
  process.exit(2);
}
const manifest = JSON.parse(await readFile(join(PUBLIC_MODELS_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
const minilm = manifest.models.find((model) => model.id === MODEL);
if (!minilm?.dtypes.includes('q8')) {
  console.error(`${MODEL} q8 is not in public/models: run \`npm run models\` (needs ../shared/fixtures or --from/--hub).`);
  process.exit(2);
}
const catalog = JSON.parse(await readFile(join(PROJECT_ROOT, 'public', 'catalog', 'goodbooks-10k.json'), 'utf8')) as {
  items: { text: string; popularity?: number }[];
};
const texts = [...catalog.items].sort((a, b) => (b.popularity ?? 0) - (a.popularity ?? 0)).map((item) => encoderText(item));

interface Row {
  encoder: string;
  device: string;
  items: number;
  items_per_s: number;
  /** WASM or native threads the row ran on, per copy (1 when not isolated). */
  threads?: number;
  /** Copies of the model sharing each batch (core/encoder-pool.ts). */
  copies?: number;
  note?: string;
}
const rows: Row[] = [];

type Lab = Remote<EncoderLab>;
async function inLab(webgpu: boolean, body: (page: Page) => Promise<void>): Promise<void> {
  const browser = await chromium.launch({ executablePath, args: webgpu ? [...args, '--enable-unsafe-webgpu'] : args });
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/e2e/lab/encoders.html`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    await body(page);
  } finally {
    await browser.close();
  }
}

/** Times `count` texts after a one-batch warm-up (first-run shader/kernel compilation is not throughput). */
async function timeInLab(page: Page, count: number, batchSize = Number(values.batch)): Promise<number> {
  const run = (slice: string[]) =>
    page.evaluate(({ slice, batchSize }) => (window as unknown as { encoderLab: Lab }).encoderLab.embed(slice, batchSize, 'passage', false), { slice, batchSize });
  await run(texts.slice(0, batchSize));
  const { ms } = await run(texts.slice(0, count));
  return count / (ms / 1000);
}

const lab = (page: Page) => page.evaluate.bind(page);
// Its own process group: npx starts vite as a child, and killing npx alone left vite serving the port.
const server = spawn('npx', ['vite', 'preview', '--port', values.port!, '--strictPort', '--host', '127.0.0.1'], { stdio: 'ignore', detached: true });
if (await fetch(origin).then(() => true, () => false)) console.error(`port ${values.port} already serves something: measuring that server (stop it, or pass --port)`);
for (let i = 0; i < 100 && !(await fetch(origin).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 200));

try {
  await inLab(false, async (page) => {
    const isolated = await page.evaluate(() => crossOriginIsolated);
    if (!isolated) console.error('the encoder lab page is NOT cross-origin isolated: ONNX Runtime runs single-threaded (check the COOP/COEP headers)');
    const labRun = lab(page);
    // As the app runs each model on WASM: a pool of copies in encoder workers of their own
    // (core/encoder-pool.ts), sharing each batch. Then one copy, as before the pool.
    const useLite = await labRun(() => (window as unknown as { encoderLab: Lab }).encoderLab.loadPoolAsTheAppDoes('use-lite'));
    rows.push({ encoder: 'use-lite-512 (TF.js)', device: 'wasm (Chromium)', items, items_per_s: await timeInLab(page, items), threads: useLite.threads[0], copies: useLite.copies });
    const useLiteOne = await labRun(() => (window as unknown as { encoderLab: Lab }).encoderLab.loadUseLiteInEncoderWorker());
    rows.push({ encoder: 'use-lite-512 (TF.js)', device: 'wasm (Chromium), 1 copy', items, items_per_s: await timeInLab(page, items), threads: useLiteOne.threads, copies: 1 });
    const fixture = minilm.fixture ? 'fixture weights' : undefined;
    const app = await labRun((model) => (window as unknown as { encoderLab: Lab }).encoderLab.loadPoolAsTheAppDoes(model), MODEL);
    rows.push({ encoder: `${MODEL} q8 (Transformers.js)`, device: 'wasm (Chromium)', items, items_per_s: await timeInLab(page, items), threads: app.threads[0], copies: app.copies, note: fixture });
    // One copy on every core (up to 4) as threads: the app's way before the pool.
    const one = await labRun((model) => (window as unknown as { encoderLab: Lab }).encoderLab.loadInEncoderWorker(model), MODEL);
    rows.push({ encoder: `${MODEL} q8 (Transformers.js)`, device: 'wasm (Chromium), 1 copy', items, items_per_s: await timeInLab(page, items), threads: one.threads, copies: 1, note: fixture });
    if (!values['skip-single-thread']) {
      // One copy on one thread (ONNX Runtime's threads are set once per worker: a fresh encoder worker).
      const single = await labRun((model) => (window as unknown as { encoderLab: Lab }).encoderLab.loadInEncoderWorker(model, 1), MODEL);
      rows.push({ encoder: `${MODEL} q8 (Transformers.js)`, device: 'wasm (Chromium), 1 copy, 1 thread', items, items_per_s: await timeInLab(page, items), threads: single.threads, copies: 1, note: fixture });
    }
    // Transformers.js's own choice of ONNX Runtime build (asyncify, WebGPU and WASM in one binary), in the lab worker.
    await labRun((model) => (window as unknown as { encoderLab: Lab }).encoderLab.load(model, 'wasm', 'q8'), MODEL);
    const { ortThreads } = await labRun(() => (window as unknown as { encoderLab: Lab }).encoderLab.runtime());
    rows.push({ encoder: `${MODEL} q8 (Transformers.js)`, device: 'wasm (Chromium), 1 copy, asyncify build', items, items_per_s: await timeInLab(page, items), threads: ortThreads, copies: 1, note: fixture });
  });
  if (!values['skip-webgpu']) await inLab(true, async (page) => {
    page.on('crash', () => console.error('the Chromium page crashed during the WebGPU run'));
    const hasAdapter = await lab(page)(() => (window as unknown as { encoderLab: Lab }).encoderLab.hasWebGpuAdapter());
    if (!hasAdapter) {
      console.error('no WebGPU adapter in this Chromium: WebGPU row skipped');
      return;
    }
    // The fixture ships q8 only; real models are run in fp32 on WebGPU (see dtypeForDevice).
    const dtype: ModelDtype = minilm.dtypes.includes('fp32') ? 'fp32' : 'q8';
    await lab(page)(({ model, dtype }) => (window as unknown as { encoderLab: Lab }).encoderLab.load(model, 'webgpu', dtype), { model: MODEL, dtype });
    const perSecond = await timeInLab(page, webgpuItems, Number(values['webgpu-batch']));
    const usedFallback = await lab(page)(() => (window as unknown as { encoderLab: Lab }).encoderLab.usingFallback());
    rows.push({ encoder: `${MODEL} ${dtype} (Transformers.js)`, device: usedFallback ? 'webgpu → wasm fallback' : 'webgpu (SwiftShader)', items: webgpuItems, items_per_s: perSecond, note: `batch ${values['webgpu-batch']}` });
  }).catch((error: unknown) => console.error(`WebGPU row failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`));
} finally {
  try {
    process.kill(-server.pid!, 'SIGTERM');
  } catch {
    server.kill();
  }
}

// Native reference: onnxruntime-node on the very file the browser loaded.
useLocalModelsOnly({ modelBase: PUBLIC_MODELS_DIR + '/' });
const native = await TransformersEncoder.load(encoderSpec(MODEL)!, { device: 'cpu', dtype: 'q8' });
await native.embedBatch(texts.slice(0, batchSize));
const nativeStart = performance.now();
for (let start = 0; start < items; start += batchSize) await native.embedBatch(texts.slice(start, Math.min(items, start + batchSize)));
// onnxruntime-node's default intra-op pool: one thread per physical core (all cores of this machine).
rows.push({ encoder: `${MODEL} q8 (onnxruntime-node)`, device: 'cpu (native)', items, items_per_s: items / ((performance.now() - nativeStart) / 1000), note: `ORT default intra-op threads; ${availableParallelism()} logical cores` });
await native.dispose();
if (!values['skip-single-thread']) {
  // For comparison per thread only: the ratio is always against the default (all cores) above.
  const single = await TransformersEncoder.load(encoderSpec(MODEL)!, { device: 'cpu', dtype: 'q8', nativeThreads: 1 });
  await single.embedBatch(texts.slice(0, batchSize));
  const started = performance.now();
  for (let start = 0; start < items; start += batchSize) await single.embedBatch(texts.slice(start, Math.min(items, start + batchSize)));
  rows.push({ encoder: `${MODEL} q8 (onnxruntime-node)`, device: 'cpu (native), 1 thread', items, items_per_s: items / ((performance.now() - started) / 1000), threads: 1 });
  await single.dispose();
}

console.log(`\n| encoder | device | copies × threads | items | items/s |\n|---|---|---|---|---|`);
for (const row of rows) console.log(`| ${row.encoder}${row.note ? ` (${row.note})` : ''} | ${row.device} | ${row.copies ?? 1} × ${row.threads ?? '—'} | ${row.items} | ${row.items_per_s.toFixed(1)} |`);
const browserWasm = rows.find((row) => row.encoder.includes('Transformers.js') && row.device === 'wasm (Chromium)');
const nativeRow = rows.find((row) => row.device === 'cpu (native)');
const ratio = browserWasm && nativeRow ? browserWasm.items_per_s / nativeRow.items_per_s : undefined;
const load = loadavg().map((value) => value.toFixed(2)).join(', ');
if (ratio !== undefined) console.log(`\nbrowser WASM (as the app runs it: ${browserWasm!.copies} × ${browserWasm!.threads} threads) / native: ${ratio.toFixed(2)}x (target ≥ 0.5x)  [batch ${batchSize}; load average before ${loadBefore}, after ${load}]`);
const nativeBest = Math.max(...rows.filter((row) => row.device.startsWith('cpu (native)')).map((row) => row.items_per_s));
if (browserWasm && nativeBest > nativeRow!.items_per_s) console.log(`against native's faster row (1 thread): ${(browserWasm.items_per_s / nativeBest).toFixed(2)}x`);
const browserSingle = rows.find((row) => row.device === 'wasm (Chromium), 1 copy, 1 thread');
const nativeSingle = rows.find((row) => row.device === 'cpu (native), 1 thread');
if (browserSingle && nativeSingle) console.log(`per thread: browser WASM 1 thread / native 1 thread: ${(browserSingle.items_per_s / nativeSingle.items_per_s).toFixed(2)}x`);
if (values.json) {
  await mkdir(dirname(values.json), { recursive: true });
  await writeFile(values.json, JSON.stringify({ batch: batchSize, wasm_to_native_ratio: ratio, load_average_before: loadBefore, load_average_after: loadavg(), results: rows.map(({ encoder, device, items_per_s, items, threads, copies }) => ({ encoder, device, copies, threads, items_per_s, items })) }, null, 2) + '\n');
}
