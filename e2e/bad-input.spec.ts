import { expect, feed, test } from './fixtures';

// These tests replace one same-origin response with broken content, as a bad deployment would.
test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'input handling is backend-independent');
});

const header = { format: 'private-recs-catalog', version: 1, name: 'test' };
const book = (id: number) => ({ id: String(id), title: `Book ${id}`, text: `Book number ${id}`, popularity: 100 - id });

test('bad catalog rows are skipped and counted in a visible warning', async ({ page }) => {
  await page.route('**/catalog/goodbooks-10k.json', (route) =>
    route.fulfill({
      json: { ...header, items: [book(1), { id: '2', title: '' }, book(3), { title: 'no id', text: 'x' }, book(5)] },
    }),
  );
  await page.goto('/');
  await expect(feed(page)).toHaveCount(3);
  await expect(page.getByRole('list', { name: 'Warnings' })).toContainText('2 catalog rows were skipped');
});

test('a catalog that is not valid at all gives a clear error page', async ({ page }) => {
  await page.route('**/catalog/goodbooks-10k.json', (route) => route.fulfill({ body: '<html>not json', contentType: 'text/html' }));
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Something is wrong with the catalog' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('not valid JSON');
});

test('a failed encoder load falls back to popularity with a message', async ({ page }) => {
  await page.route('**/models/use-lite/model.json', (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await expect(page.getByRole('list', { name: 'Warnings' })).toContainText('The text model could not be loaded');
  await expect(page.getByRole('list', { name: 'Warnings' })).toContainText('Showing popular books instead');
  await expect(feed(page).first()).toContainText('Popular with readers');
});
