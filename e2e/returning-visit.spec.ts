/**
 * A returning visit shows the feed as the reader left it at once (src/storage/last-feed.ts), before
 * the engine has read the catalog, and its cards already work: a Like given then counts once the
 * engine is ready.
 */
import { test, expect, feed, feedTitles } from './fixtures';

// The service worker would answer the catalog from its cache, past the route that holds it back here.
test.use({ serviceWorkers: 'block' });
test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'the restored feed does not depend on the compute backend'));

test('a reload shows the last feed before the catalog arrives, and a Like on it counts', async ({ page, context }) => {
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  const first = await feedTitles(page, 20);
  // Kept a second after the feed settles.
  await expect.poll(() => page.evaluate(() => localStorage.getItem('private-recs:last-feed')), { timeout: 10_000 }).not.toBeNull();

  // The next visit's catalog is held back until the test lets it through.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  await context.route('**/catalog/goodbooks-10k.json', async (route) => {
    held++;
    await released;
    await route.continue();
  });
  await page.reload();
  await expect(feed(page)).toHaveCount(20);
  expect(await feedTitles(page, 20)).toEqual(first);
  // On screen even before the engine worker asked for the catalog (which is then held back).
  await expect.poll(() => held).toBe(1);
  // The engine is still waiting for the catalog: its controls (search) are not there yet.
  await expect(page.getByRole('search')).toHaveCount(0);

  const liked = first[0]!;
  await feed(page).first().getByRole('button', { name: 'Like', exact: true }).click();
  release();
  // Once the engine is ready it takes the Like: the book leaves the feed and the history counts it.
  await expect(page.getByRole('region', { name: 'Recommendations' }).getByRole('heading', { name: liked, exact: true })).toHaveCount(0, { timeout: 60_000 });
  await expect
    .poll(() => page.evaluate(async () => {
      const open = indexedDB.open('private-recs');
      const db = await new Promise<IDBDatabase>((resolve, reject) => ((open.onsuccess = () => resolve(open.result)), (open.onerror = () => reject(open.error))));
      const all = db.transaction('events').objectStore('events').getAll();
      const events = await new Promise<{ kind: string }[]>((resolve) => (all.onsuccess = () => resolve(all.result as { kind: string }[])));
      db.close();
      return events.filter((event) => event.kind === 'like').length;
    }))
    .toBe(1);
});

test('a damaged kept feed is ignored: the page waits for the engine instead', async ({ page }) => {
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await page.evaluate(() => localStorage.setItem('private-recs:last-feed', JSON.stringify({ version: 1, catalogUrl: '/catalog/goodbooks-10k.json', savedAt: 1, feed: [{ id: '<script>', title: 5 }] })));
  await page.reload();
  await expect(feed(page)).toHaveCount(20);
  // The damaged value was removed, and the engine's feed is kept in its place.
  await expect.poll(() => page.evaluate(() => localStorage.getItem('private-recs:last-feed')), { timeout: 10_000 }).toContain('"version":1');
  expect(await page.evaluate(() => localStorage.getItem('private-recs:last-feed'))).not.toContain('<script>');
});
