import type { Page } from '@playwright/test';
import { readFile, writeFile } from 'node:fs/promises';
import { allStoredEvents, card, expect, feed, like, sharedPage, test, type RawEvent } from './fixtures';
import { popularCatalogJson, servePopularCatalog } from './popular-catalog';

// Storage behaviour does not depend on the compute backend: run once.
test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'storage is backend-independent');
});

/**
 * Reads the events store straight from IndexedDB (not through the app), oldest first. Views (a card on
 * screen for a second) are left out unless asked for: they depend on the viewport and on timing.
 */
async function storedEvents(page: Page, { views = false } = {}): Promise<RawEvent[]> {
  const all = await allStoredEvents(page);
  return views ? all : all.filter((event) => event.kind !== 'view');
}

/**
 * Creates the database exactly as version 1 of the app did (stores, indexes) with these events in it.
 * With keepOpen the connection stays open and ignores requests to upgrade, as an old tab would.
 */
async function createVersion1Database(page: Page, events: RawEvent[], { keepOpen = false } = {}): Promise<void> {
  await page.evaluate(
    ({ rows, keep }) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('private-recs', 1);
        open.onerror = () => reject(open.error);
        open.onupgradeneeded = () => {
          const db = open.result;
          const store = db.createObjectStore('events', { keyPath: 'id', autoIncrement: true });
          store.createIndex('by-item', 'itemId');
          store.createIndex('by-time', 'at');
          db.createObjectStore('embeddings', { keyPath: ['modelId', 'chunkId'] });
          db.createObjectStore('meta');
        };
        open.onsuccess = () => {
          const tx = open.result.transaction('events', 'readwrite');
          for (const row of rows) tx.objectStore('events').add(row);
          tx.oncomplete = () => {
            if (keep) (window as unknown as { held: IDBDatabase }).held = open.result;
            else open.result.close();
            resolve();
          };
        };
      }),
    { rows: events, keep: keepOpen },
  );
}

const history = (page: Page) => page.getByRole('region', { name: 'History' });
const privacy = (page: Page) => page.getByRole('region', { name: 'Privacy' });

async function openApp(page: Page) {
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
}

// One visit for three steps that need a profile with a few events, not a fresh one: the History panel's
// list, search and deletes; then bad import files; then a corrupted record met on a reload (each used to
// open the app, and start reading the catalog, for itself).
test.describe.serial('one visit', () => {
  const shared = sharedPage();

  test('the History panel lists events newest first, searches, and deletes', async () => {
    const page = await shared.page();
    await openApp(page);
    await like(page, 'The Hobbit');
    await card(page, 'The Great Gatsby').getByRole('button', { name: 'Not interested', exact: true }).click();
    await card(page, '1984').getByRole('button', { name: '1984', exact: true }).click();

    const items = history(page).getByRole('listitem');
    await expect(items).toHaveCount(3);
    await expect(items.nth(0)).toContainText('Opened');
    await expect(items.nth(0)).toContainText('1984');
    await expect(items.nth(1)).toContainText('Not interested');
    await expect(items.nth(1)).toContainText('The Great Gatsby');
    await expect(items.nth(2)).toContainText('Liked');
    await expect(items.nth(2)).toContainText('The Hobbit');

    await history(page).getByRole('searchbox', { name: 'Search history' }).fill('hobbit');
    await expect(items).toHaveCount(1);
    await history(page).getByRole('searchbox', { name: 'Search history' }).fill('');

    // Deleting the dislike brings the book back into the feed.
    await history(page).getByRole('button', { name: 'Delete “Not interested: The Great Gatsby”' }).click();
    await expect(items).toHaveCount(2);
    await expect(card(page, 'The Great Gatsby')).toHaveCount(1);
    expect((await storedEvents(page)).map((e) => e.kind)).toEqual(['like', 'click']);

    // A time range: everything from the last hour.
    await history(page).getByRole('combobox', { name: 'Delete history from' }).selectOption('the last hour');
    await history(page).getByRole('button', { name: 'Delete range' }).click();
    await expect(items).toHaveCount(0);
    await expect(card(page, 'The Hobbit')).toHaveCount(1);
    expect(await storedEvents(page)).toEqual([]);
  });

  test('a bad import file changes nothing and says why', async ({}, testInfo) => {
    // The visit the History step left with nothing stored (The Hobbit back in the feed).
    const page = await shared.page();
    expect(await storedEvents(page)).toEqual([]);
    await like(page, 'The Hobbit');
    await expect(history(page).getByRole('listitem')).toHaveCount(1);
    const before = await storedEvents(page);
    const good = JSON.stringify({
      format: 'private-recs-export',
      version: 1,
      exportedAt: 'x',
      events: [{ kind: 'like', itemId: '5', at: 1_700_000_000_000 }],
      settings: {},
      weights: [],
    });
    const cases: [string, Buffer, RegExp][] = [
      ['truncated.json', Buffer.from(good.slice(0, -20)), /truncated/],
      ['newer.json', Buffer.from(good.replace('"version":1', '"version":7')), /newer version/],
      ['edited.json', Buffer.from(good.replace('"kind":"like"', '"kind":"adore"')), /damaged or was edited/],
      ['huge.json', Buffer.alloc(51 * 1024 * 1024, 32), /never larger than 50 MB/],
    ];
    for (const [name, buffer, message] of cases) {
      // Through a file: Playwright refuses in-memory buffers over 50 MB.
      const path = testInfo.outputPath(name);
      await writeFile(path, buffer);
      const chooser = page.waitForEvent('filechooser');
      await privacy(page).getByRole('button', { name: 'Import data' }).click();
      await (await chooser).setFiles(path);
      await expect(privacy(page).getByRole('alert')).toContainText(message);
      await expect(privacy(page).getByRole('alert')).toContainText('Nothing was imported');
      expect(await storedEvents(page)).toEqual(before);
    }
  });

  test('a corrupted history record is skipped and reported; the rest loads', async () => {
    // The visit the bad imports left as it was: The Hobbit liked.
    const page = await shared.page();
    expect((await storedEvents(page)).map((e) => e.kind)).toEqual(['like']);
    await like(page, 'Pride and Prejudice');
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const open = indexedDB.open('private-recs');
          open.onsuccess = () => {
            const tx = open.result.transaction('events', 'readwrite');
            tx.objectStore('events').put({ id: 999, kind: 42, itemId: null, at: 'garbage' });
            tx.oncomplete = () => {
              open.result.close();
              resolve();
            };
          };
        }),
    );
    await page.reload();
    await expect(feed(page)).toHaveCount(20);
    await expect(page.getByRole('list', { name: 'Warnings' })).toContainText('1 history record could not be read and was skipped');
    await expect(history(page).getByRole('listitem')).toHaveCount(2);
    await expect(card(page, 'The Hobbit')).toHaveCount(0);
  });
});

test('two tabs recording 500 events each concurrently store all 1,000', async ({ page, context }) => {
  // The catalog's 400 most popular books (the subject is the events store, not the catalog): each tab's
  // text model then reads its catalog in seconds instead of competing with the writes for minutes.
  const catalogJson = await popularCatalogJson(400);
  const second = await context.newPage();
  await Promise.all([servePopularCatalog(page, catalogJson), servePopularCatalog(second, catalogJson)]);
  await Promise.all([openApp(page), openApp(second)]);
  const burst = (tab: Page) =>
    tab.evaluate(async () => {
      const title = document.querySelector<HTMLButtonElement>('button.item-title')!;
      for (let i = 0; i < 500; i++) {
        title.click();
        // Yield now and then so both tabs' writes interleave, as real use would.
        if (i % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      }
    });
  await Promise.all([burst(page), burst(second)]);
  await expect.poll(async () => (await storedEvents(page)).length, { timeout: 60_000 }).toBe(1000);
  // Each tab learns of the other's writes (BroadcastChannel) and shows the whole history.
  // (Views are hidden by default, so the list holds exactly the 1,000 clicks; it renders the newest 200.)
  await expect(history(page).getByText('Showing the newest 200 of 1,000')).toBeVisible({ timeout: 30_000 });
  await expect(history(second).getByText('Showing the newest 200 of 1,000')).toBeVisible({ timeout: 30_000 });
});

test('export, erase, import restores exactly the same history', async ({ page }) => {
  await openApp(page);
  await like(page, 'The Hobbit');
  await like(page, 'Pride and Prejudice');
  await card(page, 'Animal Farm').getByRole('button', { name: 'Not interested', exact: true }).click();
  await card(page, '1984').getByRole('button', { name: '1984', exact: true }).click();
  await expect(history(page).getByRole('listitem')).toHaveCount(4);
  const before = await storedEvents(page);

  const downloadPromise = page.waitForEvent('download');
  await privacy(page).getByRole('button', { name: 'Export my data' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/^private-recs-export-\d{4}-\d{2}-\d{2}\.json$/);
  const file = JSON.parse(await readFile((await download.path())!, 'utf8')) as { format: string; version: number; events: RawEvent[] };
  expect(file.format).toBe('private-recs-export');
  expect(file.events.filter((event) => event.kind !== 'view')).toEqual(before);
  const beforeWithViews = file.events;

  await privacy(page).getByRole('button', { name: 'Erase all my data' }).click();
  const dialog = page.getByRole('dialog', { name: 'Erase all your data?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Erase', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'All your data was erased' })).toBeVisible();
  expect(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toEqual([]);
  expect(await page.evaluate(async () => caches.keys())).toEqual([]);
  // The feed kept for a fast next visit (localStorage) goes too.
  expect(await page.evaluate(() => localStorage.getItem('private-recs:last-feed'))).toBeNull();

  await page.getByRole('button', { name: 'Start again' }).click();
  await expect(feed(page)).toHaveCount(20);
  await expect(history(page).getByRole('listitem')).toHaveCount(0);
  await expect(card(page, 'The Hobbit')).toHaveCount(1);

  const chooserPromise = page.waitForEvent('filechooser');
  await privacy(page).getByRole('button', { name: 'Import data' }).click();
  await (await chooserPromise).setFiles((await download.path())!);
  await expect(history(page).getByRole('listitem')).toHaveCount(4);
  // Views recorded after the erase are new events: the imported ones are all there, once.
  const restored = await storedEvents(page, { views: true });
  expect(beforeWithViews.every((event) => restored.some((r) => r.kind === event.kind && r.itemId === event.itemId && r.at === event.at))).toBe(true);
  expect(await storedEvents(page)).toEqual(before);
  await expect(card(page, 'The Hobbit')).toHaveCount(0);

  // Importing the same file again adds nothing.
  const again = page.waitForEvent('filechooser');
  await privacy(page).getByRole('button', { name: 'Import data' }).click();
  await (await again).setFiles((await download.path())!);
  await expect(page.getByText(`Imported 0 new events (${beforeWithViews.length} already here).`)).toBeAttached();
  expect(await storedEvents(page)).toEqual(before);
});

test('a version 1 database is migrated with every event kept', async ({ page }) => {
  // Write a database exactly as version 1 of the app did, before the app ever runs on this origin.
  await page.goto('/favicon.svg');
  const events = Array.from({ length: 120 }, (_, i) => ({
    kind: ['like', 'click', 'view', 'dislike'][i % 4]!,
    itemId: String((i % 60) + 1),
    at: 1_700_000_000_000 + i * 1000,
  }));
  await createVersion1Database(page, events);
  await openApp(page);
  expect((await storedEvents(page, { views: true })).slice(0, 120)).toEqual(events);
  await expect(history(page).getByText(/\(1[2-9]\d events\)/)).toBeVisible();
  await history(page)
    .getByRole('checkbox', { name: /Show views/ })
    .check();
  await expect(history(page).getByRole('listitem').filter({ hasText: 'Viewed' }).first()).toBeVisible();
  const version = await page.evaluate(async () => (await indexedDB.databases()).find((d) => d.name === 'private-recs')?.version);
  expect(version).toBeGreaterThan(1);
});

test('an old tab blocking the upgrade gets a message, not a hang', async ({ page, context }) => {
  const oldTab = await context.newPage();
  await oldTab.goto('/favicon.svg');
  // An old version of the app that holds version 1 open and ignores upgrade requests.
  await createVersion1Database(oldTab, [], { keepOpen: true });
  await page.goto('/');
  await expect(page.getByText('Waiting for another tab of this app to close or reload…')).toBeVisible();
  await oldTab.close();
  await expect(feed(page)).toHaveCount(20);
});

test('the Privacy panel shows what is stored, the persistence answer, and 0 requests elsewhere', async ({ page, requests }) => {
  await openApp(page);
  await like(page, 'The Hobbit');
  const panel = privacy(page);
  // The History row counts every stored event (views included), and follows as more arrive.
  const historyRecords = panel
    .getByRole('row', { name: /History/ })
    .getByRole('cell')
    .first();
  await expect.poll(async () => Number(await historyRecords.textContent()) - (await storedEvents(page, { views: true })).length, { timeout: 10_000 }).toBe(0);
  await expect(panel.locator('.persistence')).not.toContainText('Not asked yet');
  await expect(page.getByText(/Reading the catalog with the text model: [1-9]/)).toBeVisible({ timeout: 60_000 });
  await expect(panel.getByRole('row', { name: /Text embeddings cache/ })).not.toContainText('…');
  const shown = Number(await panel.getByRole('status', { name: 'Requests to other sites' }).or(panel.locator('output')).first().textContent());
  const seen = requests.filter((url) => new URL(url).origin !== new URL(page.url()).origin).length;
  expect(shown).toBe(0);
  expect(shown).toBe(seen);
});
