/**
 * A returning visit shows the feed as the reader left it at once (src/storage/last-feed.ts), before
 * the engine has read the catalog, and its cards already work: a Like given then counts once the
 * engine is ready.
 */
import type { Page, Route } from '@playwright/test';
import { allStoredEvents, test, expect, feed, feedTitles, sharedPage } from './fixtures';

test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'the restored feed does not depend on the compute backend'));

/** The titles of the feed kept in localStorage, and whether the words it is shown with (`view`) are kept with it. */
const kept = (page: Page) =>
  page.evaluate(() => {
    const record = JSON.parse(localStorage.getItem('private-recs:last-feed') ?? 'null') as { feed: { title: string }[]; view?: unknown } | null;
    return record && { titles: record.feed.map((item) => item.title).slice(0, 20), view: record.view !== undefined };
  });

/**
 * Until the feed on screen is the one kept (a second after the feed settles), with its words: what the
 * next visit paints. Returns its titles.
 */
async function feedKept(page: Page): Promise<string[]> {
  await expect(feed(page)).toHaveCount(20);
  let titles: string[] = [];
  const keptIsShown = async () => {
    titles = await feedTitles(page, 20);
    const record = await kept(page);
    return record !== null && record.view && record.titles.join('\n') === titles.join('\n');
  };
  await expect.poll(keptIsShown, { message: 'the feed on screen is kept, with its words', timeout: 10_000 }).toBe(true);
  return titles;
}

/** The page's DOM under `selector` as tags, classes, attributes and text, comparable between two renderers. */
function shape(selector: string): string {
  const describe = (node: Node): unknown => {
    if (node.nodeType === Node.TEXT_NODE) return node.textContent;
    const element = node as Element;
    const attributes = [...element.attributes].map((a) => `${a.name}=${a.value}`).sort();
    // React writes a text and its neighbours as separate text nodes: joined, they read the same.
    const children: unknown[] = [];
    for (const child of element.childNodes) {
      const described = describe(child);
      if (typeof described === 'string' && typeof children.at(-1) === 'string') children[children.length - 1] += described;
      else children.push(described);
    }
    return [element.tagName, attributes, children.filter((child) => child !== '')];
  };
  return JSON.stringify([...document.querySelectorAll(selector)].map(describe));
}

/** The header, the feed and the live region: the status line says what the engine does, which moves on. */
const PAGE_BUT_STATUS = '#root > header, #root > main > section.feed, #root > main > [aria-live]';

/**
 * One reader's visits, each step a reload of the visit the step before left (they were three tests, each
 * with a first visit of its own). The service worker is blocked: it would answer the catalog from its
 * cache, past the routes that hold it back here.
 */
test.describe.serial('one reader, returning', () => {
  const shared = sharedPage({ serviceWorkers: 'block', shippedVectors: true });

  test('a reload shows the last feed before the catalog arrives, and a Like on it counts', async () => {
    const page = await shared.page();
    const context = page.context();
    await page.goto('/');
    // Kept a second after the feed settles.
    const first = await feedKept(page);

    // The next visit's catalog is held back until the test lets it through.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    const holdCatalog = async (route: Route) => {
      held++;
      await released;
      await route.continue();
    };
    await context.route('**/catalog/goodbooks-10k.json', holdCatalog);
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
    await expect.poll(async () => (await allStoredEvents(page)).filter((event) => event.kind === 'like').length).toBe(1);
    await context.unroute('**/catalog/goodbooks-10k.json', holdCatalog);
  });

  test('the kept feed is painted before the interface has loaded, and the interface takes over the same page', async () => {
    // The visit the step before left (its Like taken), once its feed is kept with its words.
    const page = await shared.page();
    const context = page.context();
    const first = await feedKept(page);

    // Next visit: the interface's bundle (React DOM and the app) and the catalog are held back.
    let releaseApp!: () => void;
    const appReleased = new Promise<void>((resolve) => (releaseApp = resolve));
    let releaseCatalog!: () => void;
    const catalogReleased = new Promise<void>((resolve) => (releaseCatalog = resolve));
    const holdApp = async (route: Route) => {
      await appReleased;
      await route.continue();
    };
    const holdCatalog = async (route: Route) => {
      await catalogReleased;
      await route.continue();
    };
    await context.route(/\/assets\/(Root|client)-[^/]+\.js$/, holdApp);
    await context.route('**/catalog/goodbooks-10k.json', holdCatalog);
    await page.reload();
    await expect(feed(page)).toHaveCount(20);
    expect(await feedTitles(page, 20)).toEqual(first);
    expect(await page.evaluate(() => performance.getEntriesByName('first-recommendation').length)).toBe(1);
    // The early page is the interface's own markup (no React yet: nothing but what the shell painted).
    expect(await page.locator('#root > *').evaluateAll((nodes) => nodes.map((node) => node.tagName))).toEqual(['HEADER', 'MAIN']);
    const early = await page.evaluate(shape, PAGE_BUT_STATUS);
    await page.evaluate(() => ((document.querySelector('main') as HTMLElement & { early?: boolean }).early = true));
    // The reader acts before the interface is there: "Not interested" on the third card (kept until the
    // interface takes it), and the focus on the second card's "Like".
    const dismissed = first[2]!;
    await feed(page).nth(2).getByRole('button', { name: 'Not interested' }).click();
    await feed(page).nth(1).getByRole('button', { name: 'Like', exact: true }).focus();

    releaseApp();
    await expect.poll(() => page.evaluate(() => (document.querySelector('main') as (HTMLElement & { early?: boolean }) | null)?.early)).toBeUndefined();
    // React's page while the engine still waits for the catalog: the same markup, the focus where it was.
    expect(await page.evaluate(shape, PAGE_BUT_STATUS)).toEqual(early);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest('li')?.querySelector('h3')?.textContent)).toBe(first[1]);
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('like');

    releaseCatalog();
    // The engine takes the early "Not interested": the book leaves the feed and the history has it.
    await expect(page.getByRole('region', { name: 'Recommendations' }).getByRole('heading', { name: dismissed, exact: true })).toHaveCount(0, {
      timeout: 60_000,
    });
    await expect.poll(async () => (await allStoredEvents(page)).filter((event) => event.kind === 'dislike').length).toBe(1);
    await context.unroute(/\/assets\/(Root|client)-[^/]+\.js$/, holdApp);
    await context.unroute('**/catalog/goodbooks-10k.json', holdCatalog);
  });

  test('a damaged kept feed is ignored: the page waits for the engine instead', async () => {
    // The visit the step before left, its feed kept.
    const page = await shared.page();
    await feedKept(page);
    await page.evaluate(() =>
      localStorage.setItem(
        'private-recs:last-feed',
        JSON.stringify({ version: 1, catalogUrl: '/catalog/goodbooks-10k.json', savedAt: 1, feed: [{ id: '<script>', title: 5 }] }),
      ),
    );
    await page.reload();
    await expect(feed(page)).toHaveCount(20);
    // The damaged value was removed, and the engine's feed is kept in its place.
    await expect.poll(() => page.evaluate(() => localStorage.getItem('private-recs:last-feed')), { timeout: 10_000 }).toContain('"version":1');
    expect(await page.evaluate(() => localStorage.getItem('private-recs:last-feed'))).not.toContain('<script>');
  });
});
