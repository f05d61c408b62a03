/**
 * Settings → Text model in the real app: switching to the Transformers.js model that `npm run models`
 * installs (here the random-weight MiniLM fixture: the plumbing is checked, never the quality), with
 * progress, the feed working throughout, the history kept, the choice used at the next start,
 * switching back from the cache, and clearing the other model's cached vectors.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { ModelManifest } from '../src/core/encoder-registry';
import { card, expect, feed, feedTitles, like, test } from './fixtures';
import { popularCatalogJson, servePopularCatalog } from './popular-catalog';

const MINILM = 'Xenova/all-MiniLM-L6-v2';
const manifestPath = 'public/models/manifest.json';
const manifest = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest) : undefined;
const installed = manifest?.models.some((m) => m.id === MINILM) ?? false;

test.beforeEach(({}, testInfo) => {
  // On SwiftShader's WebGPU MiniLM reads about 0.7 books/s: the 1,024 it needs would take 25 minutes.
  test.skip(testInfo.project.name === 'webgpu', 'the switch is device-independent; run on the WASM path');
  test.skip(!installed, `${MINILM} is not in public/models: run npm run models`);
});

const settings = (page: Page) => page.getByRole('region', { name: 'Settings' });
const modelPanel = (page: Page) => page.getByRole('region', { name: 'Model' });
const history = (page: Page) => page.getByRole('region', { name: 'History' });

/**
 * The 256 most popular books: a switch reads min(1,024, catalog size) books with the new model before it
 * takes over (engine MODEL_MIN_EMBEDDED), and so does the bundled model before the recommendation model
 * runs. With the whole catalog that is 2 × 1,024 books on WASM, a minute or more of this test; the
 * switch, its progress, the feed meanwhile and the caches are the same with 256.
 */
const SIZE = 256;
let catalogJson = '';
test.beforeAll(async () => {
  catalogJson = await popularCatalogJson(SIZE);
});
// Blocked so that page.route serves the catalog after the reloads too (a service worker would fetch the real one).
test.use({ serviceWorkers: 'block' });

test('switch to the MiniLM model with progress, keep the feed and the history, switch back from the cache, clear the other cache', async ({ page }) => {
  test.setTimeout(600_000);
  await servePopularCatalog(page, catalogJson);
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  const use = settings(page).getByRole('radio', { name: 'Universal Sentence Encoder Lite (bundled)' });
  const minilm = settings(page).getByRole('radio', { name: 'all-MiniLM-L6-v2' });
  await expect(use).toBeChecked();
  await expect(use).toHaveAccessibleDescription(/English · 512 dimensions · works offline, nothing to download/);
  // The size shown is the files' real size, from the manifest; the fixture says what it is.
  await expect(minilm).toHaveAccessibleDescription(/English · 384 dimensions · [\d.]+ MB download, once — test fixture with random weights/);

  // The bundled model has read the popular books (so switching back later needs no reading) and the model runs.
  await expect(modelPanel(page)).toContainText('Hybrid matrix factorisation', { timeout: 300_000 });
  const [first] = await feedTitles(page, 1);
  await like(page, first!);

  await minilm.check();
  const progress = settings(page).getByRole('progressbar', { name: 'Switching the text model' });
  await expect(progress).toBeVisible();
  await expect(settings(page)).toContainText(new RegExp(`all-MiniLM-L6-v2 is reading books: \\d+ of ${SIZE} before it takes over`), { timeout: 60_000 });
  await expect(settings(page)).toContainText('Recommendations use Universal Sentence Encoder Lite (bundled) until then.');
  // The feed keeps working meanwhile, on the old model: a like takes the book out at once.
  const [second] = await feedTitles(page, 1);
  await like(page, second!);
  await expect(feed(page)).toHaveCount(20);
  await expect(modelPanel(page)).toContainText('Universal Sentence Encoder Lite (bundled) (512 dimensions)');
  // The bar moves.
  const before = Number(await progress.getAttribute('value'));
  await expect.poll(async () => Number((await progress.getAttribute('value')) ?? Infinity), { timeout: 120_000 }).toBeGreaterThan(before);

  // Views are events too: the count is whatever the history holds, likes included.
  await expect(settings(page)).toContainText(/Now using all-MiniLM-L6-v2\. Your history is kept \(\d+ events\)/, { timeout: 480_000 });
  await expect(progress).toHaveCount(0);
  await expect(minilm).toBeChecked();
  await expect(modelPanel(page)).toContainText('all-MiniLM-L6-v2 (384 dimensions)');
  // Encoder workers (core/encoder-pool.ts): MiniLM on ONNX Runtime threads in one, or, without
  // cross-origin isolation, as copies; USE Lite (two copies while in use, from two cores on) stands by
  // on one, for a quick switch back.
  const { cores, memory, isolated } = await page.evaluate(() => ({
    cores: navigator.hardwareConcurrency,
    memory: (navigator as Navigator & { deviceMemory?: number }).deviceMemory,
    isolated: crossOriginIsolated,
  }));
  const copiesWithoutThreads = memory !== undefined && memory < 4 ? 1 : Math.min(cores, 2);
  const encoderWorkers = () => page.workers().filter((worker) => /\/assets\/encoder-worker-[^/]*\.js$/.test(worker.url())).length;
  await expect.poll(encoderWorkers, { timeout: 30_000 }).toBe((isolated ? 1 : copiesWithoutThreads) + 1);
  await expect(modelPanel(page)).toContainText('Hybrid matrix factorisation', { timeout: 60_000 });
  for (const title of [first!, second!]) {
    await expect(history(page).getByRole('listitem').filter({ hasText: title })).toHaveCount(1);
    await expect(card(page, title)).toHaveCount(0);
  }
  await expect(feed(page)).toHaveCount(20);

  // The choice is used at the next start: the page comes back on MiniLM, from its cached vectors.
  await page.reload();
  await expect(feed(page)).toHaveCount(20);
  await expect(minilm).toBeChecked();
  await expect(modelPanel(page)).toContainText('all-MiniLM-L6-v2 (384 dimensions)');
  await expect(modelPanel(page)).toContainText('Hybrid matrix factorisation', { timeout: 60_000 });
  await expect(history(page).getByRole('listitem').filter({ hasText: second! })).toHaveCount(1);

  // Back to the bundled model: its vectors are cached, so it reads at most the books liked while it was
  // paused (the second like above), never the catalog again. Every "reading books: done of total" shown is recorded.
  await settings(page).evaluate((section) => {
    const seen: number[] = ((window as unknown as { leftToRead: number[] }).leftToRead = []);
    new MutationObserver(() => {
      const match = /is reading books: ([\d,]+) of ([\d,]+)/.exec(section.textContent ?? '');
      if (match) seen.push(Number(match[2]!.replace(/,/g, '')) - Number(match[1]!.replace(/,/g, '')));
    }).observe(section, { subtree: true, childList: true, characterData: true });
  });
  await use.check();
  await expect(settings(page)).toContainText(/Now using Universal Sentence Encoder Lite \(bundled\)\. Your history is kept \(\d+ events\)/, { timeout: 30_000 });
  const leftToRead = await page.evaluate(() => (window as unknown as { leftToRead: number[] }).leftToRead);
  expect(Math.max(0, ...leftToRead)).toBeLessThanOrEqual(1);
  await expect(modelPanel(page)).toContainText('Universal Sentence Encoder Lite (bundled) (512 dimensions)');

  const caches = settings(page).getByRole('list', { name: 'Cached book vectors' });
  await expect(caches).toContainText(/all-MiniLM-L6-v2: [\d,]+ books/);
  const clear = settings(page).getByRole('button', { name: 'Clear cache of other models' });
  await clear.click();
  await expect(settings(page)).toContainText(/Cleared [\d,]+ cached book vectors of other models: [\d.]+ (KB|MB) freed\./);
  await expect(caches).not.toContainText('all-MiniLM-L6-v2');
  await expect(clear).toBeDisabled();

  // The choice is remembered, and the history with it.
  await page.reload();
  await expect(feed(page)).toHaveCount(20);
  await expect(use).toBeChecked();
  await expect(history(page).getByRole('listitem').filter({ hasText: first! })).toHaveCount(1);
});
