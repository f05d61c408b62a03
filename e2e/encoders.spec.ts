/**
 * The Transformers.js encoder in real Chromium, in a worker, on the models served from our origin
 * (e2e/lab/encoders.html drives e2e/lab/encoder-lab-worker.ts). Runs on the random-weight MiniLM
 * fixture that `npm run models` installs from ../shared/fixtures: the plumbing is checked
 * (offline load, devices, batching, pooling, caching, fallback), never the quality.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { Remote } from 'comlink';
import type { ModelManifest } from '../src/core/encoder-registry';
import type { EncoderLab } from './lab/encoder-lab-worker';
import { expect, sharedPage, test } from './fixtures';

const MODEL = 'Xenova/all-MiniLM-L6-v2';
const WEIGHTS = `/models/${MODEL}/onnx/model_quantized.onnx`;
const manifestPath = 'public/models/manifest.json';
const installed = existsSync(manifestPath) && (JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest).models.some((m) => m.id === MODEL);

/** Vectors from q8 weights depend slightly on batch mates (per-batch activation scale): see transformers-encoder.test.ts. */
const Q8_BATCH_MIN_COSINE = 0.99;
/** WebGPU and WASM run the same q8 graph; they differ by float rounding in the kernels. */
const DEVICE_MAX_ABS_DIFFERENCE = 1e-3;

const TEXTS = ['The Hobbit by J.R.R. Tolkien', '', 'word '.repeat(2000), '一部轻松的喜剧', 'space opera with a strong heroine', 'Pride and Prejudice'];

type Lab = Remote<EncoderLab>;
declare global {
  interface Window {
    encoderLab: Lab;
  }
}

async function openLab(page: Page): Promise<void> {
  await page.goto('/e2e/lab/encoders.html');
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
}

async function load(page: Page, device: 'wasm' | 'webgpu'): Promise<void> {
  await page.evaluate(({ model, device }) => window.encoderLab.load(model, device, 'q8'), { model: MODEL, device });
}

async function embed(page: Page, texts: string[], batchSize: number): Promise<number[][]> {
  return (await page.evaluate(({ texts, batchSize }) => window.encoderLab.embed(texts, batchSize), { texts, batchSize })).vectors;
}

const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const maxAbsDifference = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

function expectUnitVectors(vectors: number[][], count: number): void {
  expect(vectors).toHaveLength(count);
  for (const vector of vectors) {
    expect(vector).toHaveLength(384);
    expect(Math.sqrt(dot(vector, vector))).toBeCloseTo(1, 4);
  }
}

test.describe('Transformers.js encoder in Chromium', () => {
  test.skip(!installed, `${MODEL} is not in public/models (no ../shared/fixtures/minilm-l6-shape-random and no --from/--hub): run npm run models`);

  test('WASM: 384-d unit vectors, batches agree with one-by-one, model files come from the cache the second time', async ({ page, requests }) => {
    await openLab(page);
    await load(page, 'wasm');
    const batched = await embed(page, TEXTS, 4);
    expectUnitVectors(batched, TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) {
      const [alone] = await embed(page, [TEXTS[i]!], 1);
      expect(dot(batched[i]!, alone!)).toBeGreaterThan(Q8_BATCH_MIN_COSINE);
      // Identical batch mates keep the activation scale: then batching must be exact.
      const [first, second] = await embed(page, [TEXTS[i]!, TEXTS[i]!], 2);
      expect(maxAbsDifference(first!, alone!)).toBeLessThan(1e-4);
      expect(maxAbsDifference(second!, alone!)).toBeLessThan(1e-4);
    }
    // Transformers.js may read the file twice on a first load (a size probe, then the body).
    const firstLoadFetches = requests.filter((url) => url.endsWith(WEIGHTS)).length;
    expect(firstLoadFetches).toBeGreaterThan(0);
    expect(requests.some((url) => url.includes('/models/onnxruntime-web/'))).toBe(true);

    // A fresh page and worker: the weights come from Cache Storage, not the network.
    await openLab(page);
    await load(page, 'wasm');
    expect(requests.filter((url) => url.endsWith(WEIGHTS))).toHaveLength(firstLoadFetches);
    const again = await embed(page, [TEXTS[0]!], 1);
    const [first] = await embed(page, [TEXTS[0]!], 1);
    expect(maxAbsDifference(again[0]!, first!)).toBeLessThan(1e-6);
  });
});

// One page and one WebGPU encoder for both WebGPU steps: the model loaded as the app loads it (each device
// in an encoder worker of its own, transformers-runtime.ts) is compared with WASM, then its device is lost.
// (Each step used to load the model on WebGPU itself, the slow part on SwiftShader.)
test.describe.serial('Transformers.js encoder on WebGPU', () => {
  test.beforeAll(({}, testInfo) => {
    test.skip(testInfo.project.name !== 'webgpu', 'needs --enable-unsafe-webgpu (project webgpu)');
    test.skip(!installed, `${MODEL} is not in public/models: run npm run models`);
  });
  const shared = sharedPage();
  let onWasm: number[][] = [];

  test('WebGPU: same vectors as WASM', { tag: '@webgpu' }, async () => {
    const page = await shared.page();
    await openLab(page);
    expect(await page.evaluate(() => window.encoderLab.hasWebGpuAdapter())).toBe(true);
    await load(page, 'wasm');
    onWasm = await embed(page, TEXTS, 1);
    await page.evaluate((model) => window.encoderLab.loadAsTheAppDoes(model), MODEL);
    const onWebGpu = await embed(page, TEXTS, 1);
    expect(await page.evaluate(() => window.encoderLab.usingFallback())).toBe(false);
    expect(await page.evaluate(() => window.encoderLab.notices())).toEqual([]);
    expectUnitVectors(onWebGpu, TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) expect(maxAbsDifference(onWebGpu[i]!, onWasm[i]!)).toBeLessThan(DEVICE_MAX_ABS_DIFFERENCE);
  });

  test('WebGPU: a lost device falls back to WASM for the same batch, in a fresh worker', { tag: '@webgpu' }, async () => {
    // The encoder the step before loaded as the app loads it, on WebGPU. (A WASM session created in the
    // same ONNX Runtime instance after GPUDevice.destroy() still fails in ORT's WebGPU
    // BufferManager::Download, so the retry must be a new worker.)
    const page = await shared.page();
    expect(await page.evaluate(() => window.encoderLab.usingFallback())).toBe(false);
    expect(await page.evaluate(() => window.encoderLab.loseWebGpuDevice())).toBe(true);
    const afterLoss = await embed(page, TEXTS.slice(0, 2), 1);
    expectUnitVectors(afterLoss, 2);
    expect(await page.evaluate(() => window.encoderLab.usingFallback())).toBe(true);
    expect(await page.evaluate(() => window.encoderLab.notices())).toEqual([expect.stringMatching(/WebGPU failed .*continuing on WASM\.$/s)]);
    // The batch the device was lost in, and the next, come from WASM: the same vectors as the lab's own WASM session.
    for (let i = 0; i < 2; i++) expect(maxAbsDifference(afterLoss[i]!, onWasm[i]!)).toBeLessThan(1e-4);
  });
});
