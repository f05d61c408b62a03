/**
 * The on-device model's TF.js training in real Chromium, per backend (e2e/lab/model.html drives
 * e2e/lab/model-lab-worker.ts): the project's own trainBpr (8 epochs, 24 users) and fineTuneUser
 * (20 epochs, one person) on a small deterministic problem, then HybridModel.scoreAll and rankFeed,
 * compared across backends; and a WebGPU device destroyed mid-training, which must hand training over
 * to WASM without losing the epochs done.
 *
 * Tolerances (absolute; losses are 0.03–0.7, u, q and b entries and scores are O(0.1–1)). Every
 * backend computes in float32 but sums in its own order (WebGPU: parallel reductions and scatters,
 * whose order is not even fixed from run to run; WASM: XNNPACK SIMD; cpu: plain loops), so each op
 * differs by a few ulps (~1e-7 relative), and 28 epochs of Adam carry that on. Measured here
 * (SwiftShader WebGPU vs WASM, Chromium 156): losses 1.2e-7, u 4e-7, q 5e-6, b 1.2e-7, scores 5e-6;
 * WASM vs cpu: q 9e-6; WebGPU vs itself on a second run: q 3e-6. The bounds leave 10-20x headroom for
 * real GPUs and drivers, and are still more than three orders of magnitude below what training moves
 * (asserted too), so a wrong kernel cannot hide under them.
 */
import type { Page } from '@playwright/test';
import type { Remote } from 'comlink';
import type { LabRun, ModelLab } from './lab/model-lab-worker';
import { expect, sharedPage, test } from './fixtures';

const LOSS_TOLERANCE = 1e-5;
const PARAM_TOLERANCE = 1e-4;
const SCORE_TOLERANCE = 1e-4;

declare global {
  interface Window {
    modelLab: Remote<ModelLab>;
  }
}

type Backend = 'webgpu' | 'wasm' | 'cpu';

async function openLab(page: Page): Promise<void> {
  await page.goto('/e2e/lab/model.html');
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
}

/** Selects the first working backend of `order` (the app's own selection), then trains and ranks on it. */
async function run(page: Page, order: Backend[], loseDeviceAt: { global?: number; fineTune?: number } = {}): Promise<LabRun & { selected: string }> {
  return page.evaluate(
    async ({ order, loseDeviceAt }) => {
      const { name } = await window.modelLab.useBackend(order);
      return { ...(await window.modelLab.run(loseDeviceAt)), selected: name };
    },
    { order, loseDeviceAt },
  );
}

function maxAbs(a: number[], b: number[]): number {
  expect(a).toHaveLength(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

/** The training did something worth comparing: losses fell, q and u moved far more than the tolerances. */
function expectLearned(run: LabRun): void {
  expect(run.global.losses).toHaveLength(8);
  expect(run.fineTune.losses).toHaveLength(20);
  expect(run.global.losses.at(-1)!).toBeLessThan(run.global.losses[0]! * 0.5);
  expect(run.fineTune.losses.at(-1)!).toBeLessThan(run.fineTune.losses[0]! * 0.5);
  expect(Math.max(...run.fineTune.user.map(Math.abs))).toBeGreaterThan(1000 * PARAM_TOLERANCE);
  expect(Math.max(...run.global.q.map(Math.abs))).toBeGreaterThan(1000 * PARAM_TOLERANCE);
  expect(Math.max(...run.scores) - Math.min(...run.scores)).toBeGreaterThan(1000 * SCORE_TOLERANCE);
}

/**
 * Same losses per epoch, same u, q, b, same scores within the tolerances, and the same top 20: the
 * same items in the same order, except two neighbours whose logits are within the score tolerance,
 * which may swap.
 */
function expectAgree(a: LabRun, b: LabRun): void {
  expect(maxAbs(a.global.losses, b.global.losses), 'global loss per epoch').toBeLessThan(LOSS_TOLERANCE);
  expect(maxAbs(a.global.users, b.global.users), 'global user vectors').toBeLessThan(PARAM_TOLERANCE);
  expect(maxAbs(a.global.q, b.global.q), 'global q').toBeLessThan(PARAM_TOLERANCE);
  expect(maxAbs(a.global.b, b.global.b), 'global b').toBeLessThan(PARAM_TOLERANCE);
  expect(maxAbs(a.fineTune.losses, b.fineTune.losses), 'fine-tune loss per epoch').toBeLessThan(LOSS_TOLERANCE);
  expect(maxAbs(a.fineTune.user, b.fineTune.user), 'fine-tuned u').toBeLessThan(PARAM_TOLERANCE);
  expect(maxAbs(a.fineTune.q, b.fineTune.q), 'fine-tuned q').toBeLessThan(PARAM_TOLERANCE);
  expect(maxAbs(a.fineTune.b, b.fineTune.b), 'fine-tuned b').toBeLessThan(PARAM_TOLERANCE);
  expect(maxAbs(a.scores, b.scores), 'scores').toBeLessThan(SCORE_TOLERANCE);
  expect(maxAbs(a.topScores, b.topScores), 'top-20 logits').toBeLessThan(SCORE_TOLERANCE);
  for (let i = 0; i < a.top.length; i++) {
    if (a.top[i] === b.top[i]) continue;
    const swapped = a.top[i] === b.top[i + 1] && a.top[i + 1] === b.top[i];
    expect(swapped && Math.abs(a.topScores[i]! - a.topScores[i + 1]!) < 2 * SCORE_TOLERANCE, `top 20 differ at ${i}: ${a.top} vs ${b.top}`).toBe(true);
    i++;
  }
}

// One page for the WebGPU steps: the WASM run the first compares WebGPU with is the reference of the
// device-loss steps too (each used to train on WASM again first); each WebGPU run is a new page load,
// so a new worker and a new device.
test.describe.serial('the model on TF.js backends in Chromium', () => {
  test.beforeAll(({}, testInfo) => test.skip(testInfo.project.name !== 'webgpu', 'needs --enable-unsafe-webgpu (project webgpu)'));
  const shared = sharedPage();
  let wasm: (LabRun & { selected: string }) | undefined;

  test('WebGPU and WASM train, score and rank alike', { tag: '@webgpu' }, async () => {
    const page = await shared.page();
    await openLab(page);
    expect(await page.evaluate(() => window.modelLab.hasWebGpuAdapter())).toBe(true);
    wasm = await run(page, ['wasm']);
    const gpu = await run(page, ['webgpu']);
    expect(gpu.selected).toBe('webgpu');
    expect(gpu.finalBackend).toBe('webgpu');
    expect(gpu.failures).toEqual([]);
    expect(wasm.finalBackend).toBe('wasm');
    expectLearned(wasm);
    expectLearned(gpu);
    expectAgree(gpu, wasm);
  });

  test('the WebGPU device lost during trainBpr: training goes on on WASM from the last epoch, nothing lost', { tag: '@webgpu' }, async () => {
    const page = await shared.page();
    // A new page, a new worker, a new device: lost after epoch 3 of 8.
    await openLab(page);
    const lost = await run(page, ['webgpu'], { global: 3 });
    expect(lost.selected).toBe('webgpu');
    expect(lost.failures).toEqual([{ backend: 'webgpu', epoch: 4, completedEpochs: 3, error: expect.stringMatching(/lost/i) }]);
    expect(lost.finalBackend).toBe('wasm');
    // The status names the next backend and why the one before it was left.
    const status = await page.evaluate(() => window.modelLab.status());
    expect(status!.name).toBe('wasm');
    expect(status!.skipped[0]).toEqual({ name: 'webgpu', reason: expect.stringMatching(/lost/i) });
    expectLearned(lost);
    expectAgree(lost, wasm!);
  });

  test('the WebGPU device lost during the fine-tune: it finishes on WASM with the same result', { tag: '@webgpu' }, async () => {
    const page = await shared.page();
    await openLab(page);
    const lost = await run(page, ['webgpu'], { fineTune: 10 });
    expect(lost.failures).toEqual([{ backend: 'webgpu', epoch: 11, completedEpochs: 10, error: expect.stringMatching(/lost/i) }]);
    expect(lost.finalBackend).toBe('wasm');
    expectLearned(lost);
    expectAgree(lost, wasm!);
  });
});

test.describe('the model on TF.js backends in Chromium', () => {
  test('without WebGPU the selection falls back to WASM, which agrees with cpu', async ({ page }, testInfo) => {
    test.skip(testInfo.project.name !== 'fallback', 'the fallback project has no WebGPU adapter');
    await openLab(page);
    expect(await page.evaluate(() => window.modelLab.hasWebGpuAdapter())).toBe(false);
    const wasm = await run(page, ['webgpu', 'wasm']);
    expect(wasm.selected).toBe('wasm');
    expect((await page.evaluate(() => window.modelLab.status()))!.skipped.map((s) => s.name)).toEqual(['webgpu']);
    const cpu = await run(page, ['cpu']);
    expect(cpu.finalBackend).toBe('cpu');
    expectLearned(wasm);
    expectAgree(wasm, cpu);
  });
});
