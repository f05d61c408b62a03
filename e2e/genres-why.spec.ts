/**
 * Issue 19, items 5 and 6 as a reader meets them: the genre chips ("What do you like to read?") seed
 * the feed before any like and are remembered like any event, and a card's "Why?" lists what put the
 * book there, with each part's share.
 */
import type { Page } from '@playwright/test';
import { card, expect, feed, test } from './fixtures';
import { serveGenreCatalog } from './genre-catalog';

test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'the interface does not depend on the compute backend'));

const chips = (page: Page) => page.getByRole('region', { name: 'What do you like to read?' });
const history = (page: Page) => page.getByRole('region', { name: 'History' });

/** The catalog genres of the top `count` cards, read from their genre tags. */
async function topGenres(page: Page, count: number): Promise<string[][]> {
  const cards = await feed(page).all();
  return Promise.all(cards.slice(0, count).map((c) => c.locator('.genre-tags [data-genre]').evaluateAll((tags) => tags.map((tag) => tag.getAttribute('data-genre')!))));
}

test('choosing a genre chip seeds the feed with that genre, is remembered, and un-choosing it takes it back', async ({ page }) => {
  test.setTimeout(180_000);
  await serveGenreCatalog(page);
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);

  const horror = chips(page).getByRole('button', { name: 'horror', exact: true });
  await expect(horror).toHaveAttribute('aria-pressed', 'false');
  // Most common first; every genre with enough books is offered, but not "fiction", on every book here.
  await expect(chips(page).getByRole('button')).toHaveText(['cookbooks', 'horror', 'romance', 'science fiction']);
  // The cards carry their genres as tags; with no history, the most popular (not horror) lead.
  expect((await topGenres(page, 5)).some((genres) => genres.includes('horror'))).toBe(false);

  // From the keyboard: focus the chip, press Space.
  await horror.focus();
  await page.keyboard.press('Space');
  await expect(horror).toHaveAttribute('aria-pressed', 'true');
  // The top of the feed is now horror.
  await expect
    .poll(async () => (await topGenres(page, 5)).filter((genres) => genres.includes('horror')).length, { timeout: 60_000 })
    .toBeGreaterThanOrEqual(4);

  // Remembered like any event: in the history, and chosen again after a reload.
  await expect(history(page).getByRole('listitem').filter({ hasText: 'Chose a genre' }).filter({ hasText: 'horror' })).toHaveCount(1, { timeout: 30_000 });
  await page.reload();
  await expect(feed(page)).toHaveCount(20);
  await expect(horror).toHaveAttribute('aria-pressed', 'true');
  const becauseChosen = feed(page).filter({ hasText: 'A horror book, a genre you chose' });
  await expect(becauseChosen.first()).toBeVisible();

  // Un-choosing it removes it from the history and from the feed's reasons: no card is there because of it. (Not
  // "fewer horror books at the top": once the recommendation model has opened, which depends on the pace, it ranks
  // an empty history by its own defaults, which put this catalog's newest books, its horror books, first as "New to
  // you"; before it opens, the most popular lead. Two workers met the first case: 4 of the top 5 were still horror.)
  await horror.click();
  await expect(horror).toHaveAttribute('aria-pressed', 'false');
  await expect(history(page).getByRole('listitem').filter({ hasText: 'Chose a genre' })).toHaveCount(0, { timeout: 30_000 });
  await expect(becauseChosen).toHaveCount(0, { timeout: 60_000 });
});

test('on the shipped catalog, choosing “horror” before any like puts horror books at the top of the feed', async ({ page }) => {
  test.setTimeout(480_000);
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  const before = (await topGenres(page, 10)).filter((genres) => genres.includes('horror')).length;
  const horror = chips(page).getByRole('button', { name: 'horror', exact: true });
  await horror.click();
  await expect(horror).toHaveAttribute('aria-pressed', 'true');
  // The genre's books are read first; then most of the top 10 is horror, by the cards' own genre tags.
  await expect
    .poll(async () => (await topGenres(page, 10)).filter((genres) => genres.includes('horror')).length, { timeout: 420_000, intervals: [2000] })
    .toBeGreaterThanOrEqual(Math.max(before + 4, 6));
});

test('a card’s “Why?” lists the contributions to its place, with their shares', async ({ page }) => {
  test.setTimeout(180_000);
  await serveGenreCatalog(page);
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  const liked = 'A Voyage to Mars 3';
  await card(page, liked).getByRole('button', { name: 'Like', exact: true }).click();
  await expect(card(page, liked)).toHaveCount(0);

  // A card recommended because of that like says so, and its "Why?" lists it with its share first.
  const because = feed(page).filter({ hasText: `Because you liked “${liked}”` }).first();
  await expect(because).toBeVisible({ timeout: 60_000 });
  const why = because.getByRole('button', { name: 'Why?' });
  await expect(why).toHaveAttribute('aria-expanded', 'false');
  await why.click();
  await expect(why).toHaveAttribute('aria-expanded', 'true');
  const lines = because.getByRole('list', { name: 'Why this book' }).getByRole('listitem');
  await expect(lines.first()).toHaveText(new RegExp(`^Because you liked “${liked}” — \\d{1,3}%$`));
  for (const line of await lines.allTextContents()) expect(line).toMatch(/ — \d{1,3}%$/);
  // Shares are parts of one score: they add up to at most 100 % (rounding aside).
  const shares = (await lines.allTextContents()).map((line) => Number(/(\d{1,3})%$/.exec(line)![1]));
  expect(shares.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100 + shares.length);
  // Closing it hides the list again.
  await why.click();
  await expect(because.getByRole('list', { name: 'Why this book' })).toHaveCount(0);
});
