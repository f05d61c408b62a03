/**
 * "Import gives back what was exported": after Export my data → Erase all my data → Start again →
 * Import data, the feed is the one the reader had (the same model state, not a re-fit from scratch).
 *
 * The app gets the 100 most popular books of the catalog (page.route), so that it reads them all with
 * its text model in seconds: the feed before the export and after the import are then both ranked with
 * every book's vector. The import comes right after the erase's new start, while the catalog is being
 * read again or just after (a few seconds for 100 books; the engine's "restoring" state while it is read
 * is engine-genres-import.test.ts's).
 */
import type { Page } from '@playwright/test';
import { expect, feedTitles, like, test } from './fixtures';
import { popularCatalogJson, servePopularCatalog } from './popular-catalog';

const SIZE = 100;
let catalogJson = '';

// Blocked so that page.route sees every request (a service worker would answer some itself).
test.use({ serviceWorkers: 'block' });

test.beforeAll(async ({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'storage and the model state do not depend on the backend; run once');
  catalogJson = await popularCatalogJson(SIZE);
});

const privacy = (page: Page) => page.getByRole('region', { name: 'Privacy' });
const modelPanel = (page: Page) => page.getByRole('region', { name: 'Model' });
/** The feed's cards, by their titles (a card holds lists of its own: its genres, its "Why?"). */
const cards = (page: Page) => page.getByRole('region', { name: 'Recommendations' }).getByRole('heading', { level: 3 });

/** Until the whole (small) catalog has its vectors and the recommendation model ranks the feed. */
async function modelRanksWholeCatalog(page: Page): Promise<void> {
  await expect(cards(page)).toHaveCount(20);
  await expect(modelPanel(page)).toContainText('Hybrid matrix factorisation', { timeout: 120_000 });
  await expect(page.locator('#embedding-progress')).toHaveCount(0, { timeout: 120_000 });
}

test('export, erase, start again, import: the same top 10 as before', async ({ page }) => {
  test.setTimeout(420_000);
  await servePopularCatalog(page, catalogJson);
  // The shipped global model is for the whole catalog: not this one.
  await page.route('**/catalog/*.global', (route) => route.fulfill({ status: 404, body: 'not in this test' }));
  await page.goto('/');
  await modelRanksWholeCatalog(page);

  // Three likes start a fine-tune; a fourth is learned online only (u is stored, q and b only with the whole model).
  for (let i = 0; i < 3; i++) await like(page, (await feedTitles(page, 1))[0]!);
  await expect(modelPanel(page).getByRole('img', { name: /^Training loss over \d+ epochs/ })).toBeVisible({ timeout: 120_000 });
  await expect(modelPanel(page).locator('#training-progress')).toHaveCount(0, { timeout: 120_000 });
  await like(page, (await feedTitles(page, 3))[2]!);
  const before = await feedTitles(page, 10);
  expect(before).toHaveLength(10);

  const downloadPromise = page.waitForEvent('download');
  await privacy(page).getByRole('button', { name: 'Export my data' }).click();
  const path = (await (await downloadPromise).path())!;

  await privacy(page).getByRole('button', { name: 'Erase all my data' }).click();
  await page.getByRole('dialog', { name: 'Erase all your data?' }).getByRole('button', { name: 'Erase', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'All your data was erased' })).toBeVisible();
  await page.getByRole('button', { name: 'Start again' }).click();
  await expect(cards(page)).toHaveCount(20);
  expect(await feedTitles(page, 10)).not.toEqual(before);

  // Imported while the catalog is read again: the model is restored once every book has its vector.
  // (The engine's status sentence meanwhile, snapshot.activity, is checked in engine-genres-import.test.ts:
  // the status bar shows `activity` only until a compute backend is up, so it is not asserted here.)
  const chooser = page.waitForEvent('filechooser');
  await privacy(page).getByRole('button', { name: 'Import data' }).click();
  await (await chooser).setFiles(path);
  await modelRanksWholeCatalog(page);
  await expect.poll(() => feedTitles(page, 10), { timeout: 30_000 }).toEqual(before);
});
