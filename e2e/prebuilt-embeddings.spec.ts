/**
 * A first visit with the catalog's precomputed embeddings: the feed personalises after a like before
 * the text model has even loaded, a sample is then checked against the browser's own encoder, and a
 * file that disagrees is discarded with a warning.
 *
 * The file is built here with the real build code (cli/build-embeddings: USE Lite on TF.js WASM in
 * Node) for the 400 most popular books: the whole goodbooks catalog would take minutes of CPU. The app
 * gets that smaller catalog and the file through page.route, and its text model is held back (the
 * request for model.json waits until the test releases it), so anything personal before the release
 * can only come from the file. The control test shows the same like without a file personalises nothing.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { buildPrebuiltEmbeddings, loadNodeEncoder } from '../cli/build-embeddings';
import { decodePrebuilt, encodePrebuilt, prebuiltRow } from '../src/core/prebuilt-embeddings';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { expect, feed, like, test } from './fixtures';

const SIZE = 400;
const LIKED = "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)";

// Blocked so that page.route sees every request (a service worker would answer some itself).
test.use({ serviceWorkers: 'block' });

let catalogJson = '';
let goodFile: Buffer = Buffer.alloc(0);
let rotatedFile: Buffer = Buffer.alloc(0);

test.beforeAll(async ({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'the file and its check do not depend on the backend; run once');
  testInfo.setTimeout(120_000);
  const full = JSON.parse(await readFile('public/catalog/goodbooks-10k.json', 'utf8')) as { items: { popularity?: number }[] };
  const items = [...full.items].sort((a, b) => (b.popularity ?? 0) - (a.popularity ?? 0)).slice(0, SIZE);
  catalogJson = JSON.stringify({ ...full, items });
  const dir = await mkdtemp(join(tmpdir(), 'prebuilt-e2e-'));
  const catalogPath = join(dir, 'goodbooks-10k.json');
  await writeFile(catalogPath, catalogJson);
  const built = await buildPrebuiltEmbeddings({ catalogPath, encoder: await loadNodeEncoder(USE_LITE_ID) });
  goodFile = await readFile(built.path);
  // The same file with every vector's coordinates rotated: what a file built by another model version looks like.
  const decoded = decodePrebuilt(goodFile);
  const rows = decoded.textHashes.map((textHash, row) => {
    const vector = prebuiltRow(decoded, row);
    return { textHash, vector: Float32Array.from(vector, (_, j) => vector[(j + 1) % vector.length]!) };
  });
  rotatedFile = Buffer.from(encodePrebuilt({ modelId: decoded.modelId, dimension: decoded.dimension, rows }));
});

/** Serves the small catalog and (or not) a precomputed file; holds the text model until `release()`. */
async function setUp(page: Page, file: Buffer | undefined): Promise<{ release: () => void; fileRequests: () => number }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let fileRequests = 0;
  await page.route('**/catalog/goodbooks-10k.json', (route) => route.fulfill({ body: catalogJson, contentType: 'application/json' }));
  await page.route('**/catalog/goodbooks-10k.use-lite-512.emb', (route) => {
    fileRequests++;
    return file ? route.fulfill({ body: file, contentType: 'application/octet-stream' }) : route.fulfill({ status: 404, body: 'not here' });
  });
  await page.route('**/models/use-lite/model.json', async (route) => {
    await released;
    await route.continue();
  });
  return { release, fileRequests: () => fileRequests };
}

const becauseLiked = (page: Page) => feed(page).filter({ hasText: /Because you liked “Harry Potter/ });
const modelPanel = (page: Page) => page.locator('#model');

test('with the file, a like personalises the first visit before the text model has loaded; the sample check passes', async ({ page }) => {
  const app = await setUp(page, goodFile);
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await expect(modelPanel(page)).toContainText(`${SIZE} from the catalog's precomputed embeddings (being checked against this device)`);
  expect(app.fileRequests()).toBe(1);

  await like(page, LIKED);
  // The series' next volume rises, explained by the like: only the file's vectors can do that now. (One
  // book per series in the feed, and a liked book is named only above cosine 0.86 — the p99 of random
  // pairs of the catalog's texts — so that is usually the one card naming it.)
  await expect(becauseLiked(page).first()).toBeVisible({ timeout: 10_000 });
  await expect(feed(page).filter({ hasText: /Harry Potter, #2\)/ })).toHaveCount(1);
  // Nothing to read: the catalog was complete at once.
  await expect(page.getByText('Reading the catalog with the text model')).toHaveCount(0);

  app.release();
  await expect(modelPanel(page)).toContainText('checked on this device', { timeout: 60_000 });
  await expect(page.getByText(/precomputed embeddings (do not match|were ignored)/)).toHaveCount(0);
  await expect(page.getByText('Reading the catalog with the text model')).toHaveCount(0);
});

test('without the file, the same like personalises nothing until the text model has read the catalog (control)', async ({ page }) => {
  const app = await setUp(page, undefined);
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await like(page, LIKED);
  // The engine has stored the like and answered it with a feed (its History lists it): that feed has no
  // reason naming it, as the like has no vector to compare with.
  await expect(page.getByRole('region', { name: 'History' }).getByRole('listitem').filter({ hasText: LIKED })).toHaveCount(1);
  await expect(becauseLiked(page)).toHaveCount(0);
  expect(app.fileRequests()).toBe(1);
  await expect(page.getByRole('list', { name: 'Warnings' })).toHaveCount(0); // a missing file is not a problem
  app.release();
  await expect(becauseLiked(page).first()).toBeVisible({ timeout: 90_000 });
});

test('a file that disagrees with the browser encoder is discarded with a warning and the catalog is read here', async ({ page }) => {
  const app = await setUp(page, rotatedFile);
  await page.goto('/');
  await expect(modelPanel(page)).toContainText('being checked against this device');
  app.release();
  await expect(page.getByRole('list', { name: 'Warnings' })).toContainText("The precomputed embeddings do not match this device's text model", { timeout: 60_000 });
  await expect(modelPanel(page)).not.toContainText('precomputed');
  // The device's own vectors then personalise as without a file.
  await like(page, LIKED);
  await expect(becauseLiked(page).first()).toBeVisible({ timeout: 90_000 });
});
