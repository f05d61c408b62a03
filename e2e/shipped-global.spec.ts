/**
 * A first visit with the catalog's shipped global model (`npm run train-global`, the file beside the
 * catalog): the recommendation model starts from what the goodbooks readers taught it, and says so in
 * the Model panel; a damaged file is ignored with a warning and the feed works from the catalog text.
 *
 * The fixtures answer 404 for *.global and *.emb (the rest of the suite starts from the text); here
 * page.route, which wins, lets the built app's own files through (the .emb too, when the build has one,
 * so the model opens without reading the catalog first) or serves a damaged copy.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { decodeShippedGlobal, shippedGlobalUrl } from '../src/core/model/shipped-global';
import { modelIdFor } from '../src/core/model/identity';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { expect, feed, like, test } from './fixtures';

const FILE = shippedGlobalUrl('public/catalog/goodbooks-10k.json', modelIdFor(USE_LITE_ID));

test.use({ serviceWorkers: 'block' });

test.beforeEach(({}, testInfo) => {
  test.skip(!existsSync(FILE), `${FILE} is not built (npm run train-global)`);
  test.skip(testInfo.project.name === 'webgpu', 'the file does not depend on the backend; run once');
  testInfo.setTimeout(240_000);
});

const modelPanel = (page: Page) => page.locator('#model');

async function letThrough(page: Page): Promise<void> {
  await page.route('**/catalog/*.emb', (route) => route.continue());
}

test('a first visit starts from the shipped global model', async ({ page }) => {
  const { header } = await decodeShippedGlobal(new Uint8Array(await readFile(FILE)));
  await letThrough(page);
  let served = 0;
  await page.route('**/catalog/*.global', (route) => (served++, route.continue()));
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await expect(modelPanel(page)).toContainText(header.description, { timeout: 200_000 });
  expect(served).toBe(1);
  await expect(page.getByText(/shipped recommendation model was ignored/)).toHaveCount(0);
  // The model it opened ranks: a like changes the feed.
  const before = await feed(page).allInnerTexts();
  await like(page, (await feed(page).first().getByRole('heading').innerText()).trim());
  await expect.poll(async () => (await feed(page).allInnerTexts()).join('|'), { timeout: 30_000 }).not.toBe(before.join('|'));
});

test('a damaged file is ignored with a warning; the model starts from the catalog text', async ({ page }) => {
  const damaged = Buffer.from(await readFile(FILE));
  damaged[damaged.length - 100]! ^= 0x21;
  await letThrough(page);
  await page.route('**/catalog/*.global', (route) => route.fulfill({ body: damaged, contentType: 'application/octet-stream' }));
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await expect(page.getByRole('list', { name: 'Warnings' })).toContainText(/shipped recommendation model was ignored \(.*checksum does not match/, { timeout: 200_000 });
  await expect(modelPanel(page)).toContainText('built on this device from the catalog text');
  await expect(feed(page)).toHaveCount(20);
});
