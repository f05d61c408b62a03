/**
 * Storage failures in the app, in real Chromium: the feed keeps working in memory, one line says what
 * will not be kept, and nothing already stored is lost.
 *  - quota: CDP Storage.overrideQuotaForOrigin shrinks the origin's quota to 1 byte mid-visit, so every
 *    write after that fails with a real QuotaExceededError (pages and the engine's worker alike);
 *  - eviction: CDP Storage.clearDataForOrigin deletes the origin's IndexedDB while the app has it open
 *    (the browser force-closes the connection, as on eviction or "Clear site data");
 *  - a blocked upgrade: an old tab holds version 1 open and never lets go.
 * (Two tabs writing 500 events each at once end with exactly 1,000: e2e/user-data.spec.ts.)
 */
import type { CDPSession, Page } from '@playwright/test';
import { APP_ORIGIN, expect, feed, feedTitles, like, test } from './fixtures';

test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'storage is backend-independent; run once'));

const history = (page: Page) => page.getByRole('region', { name: 'History' });
const historyLikes = (page: Page) => history(page).getByRole('listitem').filter({ hasText: 'Liked' });

/** The events store read straight from IndexedDB in the page (not through the app); likes only, oldest first. */
async function storedLikes(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('private-recs');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('events')) return (db.close(), resolve([]));
          const request = db.transaction('events').objectStore('events').getAll();
          request.onsuccess = () => {
            db.close();
            resolve((request.result as { kind: string; itemId: string }[]).filter((e) => e.kind === 'like').map((e) => e.itemId));
          };
        };
      }),
  );
}

async function openApp(page: Page) {
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
}

async function likeFirstTwo(page: Page): Promise<string[]> {
  const titles = (await feedTitles(page, 2)).slice(0, 2);
  for (const title of titles) await like(page, title);
  await expect.poll(() => storedLikes(page).then((likes) => likes.length)).toBe(2);
  return titles;
}

async function cdp(page: Page): Promise<CDPSession> {
  return page.context().newCDPSession(page);
}

test('quota exceeded mid-visit: the like is kept in memory, the app says what will not be kept, and every stored like is still stored', async ({ page }) => {
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await openApp(page);
  await likeFirstTwo(page);
  const stored = await storedLikes(page);

  const session = await cdp(page);
  await session.send('Storage.overrideQuotaForOrigin', { origin: APP_ORIGIN, quotaSize: 1 });
  // The first failing write drops the embedding cache and retries (the retry may still fit, as the
  // browser's usage figure lags); a write that fails again switches the visit to memory, and the line
  // appears. So: like until it does (at most 4 likes).
  const full = page.getByText("This browser's storage for the app is full: new picks are kept for this visit only. Everything saved before is still saved.");
  let likesBeforeLine = 0;
  while (likesBeforeLine < 4 && !(await full.isVisible())) {
    await like(page, (await feedTitles(page, 1))[0]!);
    likesBeforeLine++;
    await full.waitFor({ timeout: 15_000 }).catch(() => undefined);
  }
  await expect(full).toBeVisible();
  // From now on likes live in memory: the feed and the history go on with them.
  const inMemory = (await feedTitles(page, 1))[0]!;
  await like(page, inMemory);
  const total = stored.length + likesBeforeLine + 1;
  await expect(historyLikes(page)).toHaveCount(total);
  await expect(feed(page)).toHaveCount(20);
  // Nothing that was committed is lost: the database holds at least every like stored before.
  const storedAfter = await storedLikes(page);
  expect(storedAfter.slice(0, stored.length)).toEqual(stored);
  expect(storedAfter.length).toBeLessThan(total);

  // The quota back: a reload reads exactly what was stored; the like kept in memory is gone, as the line said.
  await session.send('Storage.overrideQuotaForOrigin', { origin: APP_ORIGIN });
  await page.reload();
  await expect(feed(page)).toHaveCount(20);
  await expect(historyLikes(page)).toHaveCount(storedAfter.length);
  await expect(page.getByText('kept for this visit only')).toHaveCount(0);
  // (Whether that book is back on screen is the feed rules' call: one book per series, so not asserted.)
  expect(errors).toEqual([]);
});

test('the database deleted by the browser while open (eviction): the visit goes on in memory with its history, and says so', async ({ page }) => {
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await openApp(page);
  await likeFirstTwo(page);

  await (await cdp(page)).send('Storage.clearDataForOrigin', { origin: APP_ORIGIN, storageTypes: 'indexeddb' });
  await expect(page.getByText('The browser closed or removed the saved data while the page was open: new picks are kept for this visit only.')).toBeVisible({ timeout: 30_000 });
  const third = (await feedTitles(page, 1))[0]!;
  await like(page, third);
  // The two likes from before (held by the page) and the new one: the feed still excludes all three.
  await expect(historyLikes(page)).toHaveCount(3);
  await expect(feed(page)).toHaveCount(20);
  await expect(page.getByText('Recommendations are unavailable')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('an upgrade blocked by an old tab that never lets go: the app recommends from memory, says why, and the old data stays as it was', async ({ page, context }) => {
  const oldTab = await context.newPage();
  await oldTab.goto('/favicon.svg');
  // An old version of the app: version 1 of the database, one like in it, held open, ignoring upgrade requests.
  await oldTab.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('private-recs', 1);
        open.onerror = () => reject(open.error);
        open.onupgradeneeded = () => {
          const store = open.result.createObjectStore('events', { keyPath: 'id', autoIncrement: true });
          store.createIndex('by-item', 'itemId');
          store.createIndex('by-time', 'at');
          open.result.createObjectStore('embeddings', { keyPath: ['modelId', 'chunkId'] });
          open.result.createObjectStore('meta');
        };
        open.onsuccess = () => {
          const tx = open.result.transaction('events', 'readwrite');
          tx.objectStore('events').add({ kind: 'like', itemId: '1', at: Date.now() - 60_000 });
          tx.oncomplete = () => {
            (window as unknown as { held: IDBDatabase }).held = open.result;
            resolve();
          };
        };
      }),
  );
  await page.goto('/');
  await expect(page.getByText('Waiting for another tab of this app to close or reload…')).toBeVisible();
  await expect(feed(page)).toHaveCount(20, { timeout: 30_000 });
  await expect(page.getByText('Your picks are kept for this visit only: another tab of this app holds its data open. Close that tab and reload to keep them.')).toBeVisible();
  await like(page, (await feedTitles(page, 1))[0]!);
  await expect(historyLikes(page)).toHaveCount(1);

  // The old tab's data is untouched; closed, the next visit upgrades it and keeps its like.
  expect(await oldTab.evaluate(() => (window as unknown as { held: IDBDatabase }).held.version)).toBe(1);
  await oldTab.close();
  await page.reload();
  await expect(feed(page)).toHaveCount(20);
  await expect(page.getByText('kept for this visit only')).toHaveCount(0);
  expect(await storedLikes(page)).toEqual(['1']);
});
