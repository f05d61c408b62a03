/**
 * Shared test fixtures. Every test records every request its browser context makes (pages and
 * workers) and fails if one went anywhere but the app's own origin: privacy invariant 1, checked
 * over every session the suite runs, not just one.
 */
import { test as base, expect, type BrowserContext, type Page, type Locator } from '@playwright/test';

export const APP_ORIGIN = `http://127.0.0.1:${process.env.E2E_PORT ?? 4173}`;

export const test = base.extend<{ requests: string[]; extraOrigins: string[]; shippedVectors: boolean; noPrebuiltEmbeddings: void }>({
  /**
   * Origins besides the app's that a test may reach on purpose, each listed exactly (the widget
   * tests' host pages on another origin). Empty everywhere else.
   */
  extraOrigins: [[], { option: true }],
  requests: [
    async ({ context, extraOrigins }, use) => {
      const requests: string[] = [];
      context.on('request', (request) => requests.push(request.url()));
      await use(requests);
      expectSameOrigin(requests, extraOrigins);
    },
    { auto: true },
  ],
  /**
   * Whether the catalog's shipped vectors (public/catalog/*.emb, checked in: `npm run catalog --
   * --embeddings`) reach the app. Off by default: a first visit then reads the whole catalog with the
   * text model, minutes of CPU on this machine, which the tests of that path need (the reading's
   * progress, the model offline, WebGPU at work). A test that is about something else and only needs
   * every book's vector sets it (`test.use({ shippedVectors: true })`): the app then checks a sample of
   * the file against its own encoder, as on a real first visit, and reads nothing else. Not a drop-in
   * for every test: with every vector at once the first likes re-rank further (a popular book leaves the
   * feed, reasons differ) and the embedding cache is large (storage-failures' quota case), so a spec is
   * switched over only once it passes that way (stop 33: model, search-diversity).
   */
  shippedVectors: [false, { option: true }],
  /**
   * The catalog's precomputed embeddings answer 404 unless `shippedVectors` is set or a test serves its
   * own (a page.route wins over this one); the shipped global model and co-liked file always answer 404.
   */
  noPrebuiltEmbeddings: [
    async ({ context, shippedVectors }, use) => {
      await withoutPrebuiltFiles(context, { vectors: !shippedVectors });
      await use();
    },
    { auto: true },
  ],
});

export { expect };

/** Privacy invariant 1 over one context's requests: none went anywhere but the app's origin (and `extraOrigins`). */
export function expectSameOrigin(requests: readonly string[], extraOrigins: readonly string[] = []): void {
  const allowed = new Set([APP_ORIGIN, ...extraOrigins]);
  const foreign = requests.filter((url) => !allowed.has(new URL(url).origin) && !url.startsWith('data:') && !url.startsWith('blob:'));
  expect(foreign, 'requests to other origins').toEqual([]);
}

/**
 * The `noPrebuiltEmbeddings` fixture's routes, for a context a spec opens itself (one page shared by its
 * tests). With `vectors: false` the shipped vectors get through (the global model and co-liked file never).
 */
export async function withoutPrebuiltFiles(context: BrowserContext, { vectors = true } = {}): Promise<void> {
  if (vectors) await context.route('**/catalog/*.emb', (route) => route.fulfill({ status: 404, body: 'not in tests' }));
  // Likewise the catalog's shipped global model (`npm run train-global`): the suite's first visits start
  // from the catalog text; e2e/shipped-global.spec.ts serves the real file.
  await context.route('**/catalog/*.global', (route) => route.fulfill({ status: 404, body: 'not in tests' }));
  // And its co-liked neighbours (`npm run co-liked`), which shipped-global.spec.ts serves with the model.
  await context.route('**/catalog/*.co-liked', (route) => route.fulfill({ status: 404, body: 'not in tests' }));
}

/**
 * One page for the tests of a `test.describe.serial` that are steps of one user's story (call it in the
 * describe's body): opened by the first test that asks for it and kept for the next. Its context gets what
 * the fixtures give every test's own: the routes of `noPrebuiltEmbeddings` (`shippedVectors` as there) and
 * the same-origin check over all its requests, when the describe ends. `serviceWorkers: 'block'` as
 * `test.use` gives a test's own context (a spec whose routes must see every request).
 */
export function sharedPage({ shippedVectors = false, serviceWorkers = 'allow' as 'allow' | 'block' } = {}): { page: () => Promise<Page>; requests: string[] } {
  let context: BrowserContext | undefined;
  let page: Promise<Page> | undefined;
  /** Every request of the shared context so far (pages and workers). */
  const requests: string[] = [];
  test.beforeAll(async ({ browser }) => {
    context = await browser.newContext({ baseURL: APP_ORIGIN, serviceWorkers });
    context.on('request', (request) => requests.push(request.url()));
    await withoutPrebuiltFiles(context, { vectors: !shippedVectors });
  });
  test.afterAll(async () => {
    await context?.close();
    expectSameOrigin(requests);
  });
  return { page: () => (page ??= context!.newPage()), requests };
}

export function feed(page: Page): Locator {
  return page.getByRole('region', { name: 'Recommendations' }).getByRole('listitem');
}

export async function feedTitles(page: Page, count = 10): Promise<string[]> {
  const headings = page.getByRole('region', { name: 'Recommendations' }).getByRole('listitem').getByRole('heading');
  return (await headings.allTextContents()).slice(0, count);
}

export function card(page: Page, title: string): Locator {
  return feed(page).filter({ has: page.getByRole('heading', { name: title, exact: true }) });
}

/** Likes the item with this exact title and waits until the feed no longer shows it. */
export async function like(page: Page, title: string): Promise<void> {
  await card(page, title).getByRole('button', { name: 'Like', exact: true }).click();
  await expect(card(page, title)).toHaveCount(0);
}

/**
 * A first visit that installs the service worker, then a reload, after which it controls the page
 * (it only controls pages loaded after it activated). Ends with the feed on screen.
 */
export async function openInstalledApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await page.evaluate(async () => void (await navigator.serviceWorker.ready));
  await page.reload();
  expect(await page.evaluate(() => navigator.serviceWorker.controller?.state)).toBe('activated');
  await expect(feed(page)).toHaveCount(20);
}

/** The paths of the URLs in this origin's Cache Storage caches whose names start with `prefix`. */
export async function cachedUrls(page: Page, prefix: string): Promise<string[]> {
  return page.evaluate(async (prefix) => {
    const urls: string[] = [];
    for (const name of await caches.keys()) {
      if (!name.startsWith(prefix)) continue;
      urls.push(...(await (await caches.open(name)).keys()).map((request) => new URL(request.url).pathname));
    }
    return urls;
  }, prefix);
}

/** model.json, vocab.json and the 7 weight shards of the bundled model (public/models/use-lite). */
const BUNDLED_MODEL_FILES = 9;

/**
 * Waits until the service worker's runtime cache holds every file of the bundled model and the list
 * of models: only then can an offline visit load the text model. (A cache that merely exists is not
 * enough: it is created with its first file, and offline the rest would fail to fetch.)
 */
export async function waitForModelCached(page: Page): Promise<void> {
  const models = () => cachedUrls(page, 'private-recs-models-');
  await expect.poll(async () => (await models()).filter((url) => url.startsWith('/models/use-lite/')).length, { timeout: 120_000 }).toBe(BUNDLED_MODEL_FILES);
  expect(await models()).toContain('/models/manifest.json');
}

/** An event as the app stores it in IndexedDB. */
export interface RawEvent {
  kind: string;
  itemId: string;
  at: number;
}

/** Every stored event, read straight from IndexedDB (not through the app), oldest first. */
export async function allStoredEvents(page: Page): Promise<RawEvent[]> {
  return page.evaluate(
    () =>
      new Promise<RawEvent[]>((resolve, reject) => {
        const open = indexedDB.open('private-recs');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction('events').objectStore('events').getAll();
          request.onsuccess = () => {
            open.result.close();
            resolve((request.result as RawEvent[]).map(({ kind, itemId, at }) => ({ kind, itemId, at })));
          };
        };
      }),
  );
}
