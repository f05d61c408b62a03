/**
 * The widget on a host page of another origin (e2e/host/, served by a tiny server on E2E_HOST_PORT,
 * default E2E_PORT + 10): the custom element, then the iframe with its postMessage API.
 */
import type { ConsoleMessage, Page } from '@playwright/test';
import { hostPort, startHostServer, type HostServer } from './host/server';
import { APP_ORIGIN, expect, test as base } from './fixtures';

const HOST_PORT = hostPort();
const HOST_ORIGIN = `http://127.0.0.1:${HOST_PORT}`;
const OTHER_ORIGIN = `http://localhost:${HOST_PORT}`;
const SPACE = ['Voyage to Mars', 'Life on the Space Station', 'Telescopes and Galaxies', 'The Moon Landing', 'Comets and Asteroids'];
const XSS_TITLE = '<img src=x onerror="window.__xss=1">Tricky title';

const test = base.extend<object, { host: HostServer }>({
  host: [
    async ({}, use) => {
      const server = await startHostServer(HOST_PORT, APP_ORIGIN);
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],
});
// The host pages are on purpose on other origins; every other origin still fails the test.
test.use({ extraOrigins: [HOST_ORIGIN, OTHER_ORIGIN] });
test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'the widget runs the same engine as the app; run once'));

function warnings(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'warning') seen.push(message.text());
  });
  return seen;
}

function failOnHostErrors(page: Page): Error[] {
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  return errors;
}

test('custom element on another origin: renders in its shadow root, emits clicks, follows context, survives a bad catalog', async ({ page, host }) => {
  const hostErrors = failOnHostErrors(page);
  await page.goto(`${host.origin}/element.html`);
  const recs = page.locator('#recs');
  const titles = recs.locator('button.title');
  await expect(titles).toHaveCount(4);
  // Most popular first: the XSS title, shown as text, then cookery.
  await expect(titles.first()).toHaveText(XSS_TITLE);
  expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
  expect(await recs.evaluate((element) => element.shadowRoot!.querySelectorAll('img').length)).toBe(0);
  // The host's `button { display: none !important }` does not reach inside; its theme variable does.
  await expect(titles.nth(1)).toBeVisible();
  await expect(titles.nth(1)).toHaveCSS('color', 'rgb(200, 0, 0)');

  // A click reaches the host as a DOM event with the item id, and only that.
  const clicked = await titles.nth(1).textContent();
  const clickedId = await titles.nth(1).evaluate((button) => button.closest('li')!.dataset.itemId);
  await titles.nth(1).click();
  await expect(page.locator('#clicks li')).toHaveText([`clicked ${clickedId}`]);
  expect(await page.evaluate(() => (window as unknown as { hostClicks: unknown[] }).hostClicks)).toEqual([{ id: 'recs', detail: { itemId: clickedId } }]);
  expect(clicked).toBeTruthy();

  // The item on screen steers the picks toward it (once its text is embedded) and is never picked itself.
  await recs.evaluate((element) => ((element as HTMLElement & { context: string }).context = 'space-1'));
  await expect
    .poll(async () => (await titles.allTextContents()).filter((title) => SPACE.includes(title)).length, { timeout: 120_000 })
    .toBeGreaterThanOrEqual(3);
  await expect(titles.filter({ hasText: 'Voyage to Mars' })).toHaveCount(0);

  // A broken host catalog: a small inline error in that widget, and the host page carries on.
  await expect(page.locator('#bad').getByRole('alert')).toContainText('Recommendations are unavailable');
  await expect(page.locator('#bad').getByRole('alert')).toContainText('rows is valid');
  await expect(titles).toHaveCount(4);
  expect(hostErrors).toEqual([]);
});

test('custom element under a strict host CSP (our origin allowed, blob: workers) still recommends', async ({ page, host }) => {
  const hostErrors = failOnHostErrors(page);
  await page.goto(`${host.origin}/element-strict-csp.html`);
  await expect(page.locator('#recs button.title')).toHaveCount(4);
  await expect(page.locator('#recs button.title').first()).toHaveText(XSS_TITLE);
  expect(hostErrors).toEqual([]);
});

test('iframe on another origin: host catalog by message, clicks back to the host, other origins and malformed messages ignored, no history leaks', async ({ page, host }) => {
  const warned = warnings(page);
  await page.goto(`${host.origin}/iframe.html`);
  const frame = page.frameLocator('iframe[title="Recommendations"]');
  const titles = frame.locator('button.title');
  // The host's catalog arrived by postMessage and was validated and used.
  await expect(titles).toHaveCount(4);
  await expect(titles.first()).toHaveText(XSS_TITLE);
  const widget = page.frames().find((f) => f.url().startsWith(`${APP_ORIGIN}/embed.html`))!;
  expect(await widget.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();

  // A click reaches the host page as a message with the item id.
  const id = await titles.nth(1).evaluate((button) => button.closest('li')!.dataset.itemId!);
  await titles.nth(1).click();
  await expect.poll(() => page.evaluate(() => (window as unknown as { hostClicks: string[] }).hostClicks)).toEqual([id]);

  // Another site's frame on the same page tries to swap the catalog: ignored, with a warning.
  const otherSite = page.frames().find((f) => f.url().startsWith(OTHER_ORIGIN))!;
  await otherSite.evaluate(() => {
    const evil = { format: 'private-recs-catalog', version: 1, name: 'evil', items: [{ id: 'evil', title: 'Buy this', text: 'spam' }] };
    // It cannot tell which frame is the widget; it tries them all.
    for (let i = 0; i < window.parent.frames.length; i++) {
      window.parent.frames[i]!.postMessage({ protocol: 'private-recs', version: 1, type: 'catalog', catalog: evil }, '*');
    }
  });
  await expect.poll(() => warned.some((text) => text.includes(`ignored a message from ${OTHER_ORIGIN}`))).toBe(true);
  // Malformed and future-version messages from the host itself: ignored, with a warning each.
  await page.evaluate((appOrigin) => {
    const target = document.querySelector<HTMLIFrameElement>('iframe[title="Recommendations"]')!.contentWindow!;
    target.postMessage({ protocol: 'private-recs', version: 1, type: 'context', itemId: 42 }, appOrigin);
    target.postMessage({ protocol: 'private-recs', version: 2, type: 'context', itemId: 'space-1' }, appOrigin);
  }, APP_ORIGIN);
  await expect.poll(() => warned.filter((text) => text.includes('ignored a malformed message')).length).toBe(2);
  await expect(frame.getByText('Buy this')).toHaveCount(0);
  await expect(titles.first()).toHaveText(XSS_TITLE);

  // A valid context message from the host works (so the ignored ones were really ignored, not lost).
  await page.evaluate(() => (window as unknown as { recs: { setContext(id: string): void } }).recs.setContext('space-1'));
  await expect
    .poll(async () => (await titles.allTextContents()).filter((title) => SPACE.includes(title)).length, { timeout: 120_000 })
    .toBeGreaterThanOrEqual(3);

  // The host cannot read the widget's storage, and it was told nothing but "ready" and the click.
  const reach = await page.evaluate(() => {
    const iframe = document.querySelector<HTMLIFrameElement>('iframe[title="Recommendations"]')!;
    try {
      return String(iframe.contentWindow!.indexedDB);
    } catch (error) {
      return (error as Error).name;
    }
  });
  expect(reach).toBe('SecurityError');
  expect(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).not.toContain('private-recs');
  expect(await widget.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toContain('private-recs');
  const fromWidget = (await page.evaluate(() => (window as unknown as { hostMessages: { origin: string; data: unknown }[] }).hostMessages)).filter(
    (m) => m.origin === APP_ORIGIN,
  );
  expect(fromWidget).toEqual([
    { origin: APP_ORIGIN, data: { protocol: 'private-recs', version: 1, type: 'ready' } },
    { origin: APP_ORIGIN, data: { protocol: 'private-recs', version: 1, type: 'click', itemId: id } },
  ]);
});
