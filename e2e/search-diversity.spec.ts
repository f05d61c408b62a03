import type { Page } from '@playwright/test';
import { meanPairwiseDistance, meanSimilarityToText } from './embeddings';
import { expect, feed, feedTitles, test } from './fixtures';

// Ranking is backend-independent: run once.
test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'ranking is backend-independent; run once');
});

const searchBox = (page: Page) => page.getByRole('searchbox', { name: 'What are you in the mood for?' });
const diversity = (page: Page) => page.getByRole('slider', { name: 'Diversity' });

/** Waits until the whole catalog has been embedded (the progress bar goes away). */
async function untilEmbedded(page: Page) {
  await expect(page.locator('#embedding-progress')).toHaveCount(0, { timeout: 240_000 });
}

test('the search box re-ranks the feed toward the query, and clearing it restores the feed', async ({ page }) => {
  test.setTimeout(360_000);
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await untilEmbedded(page);
  const query = 'a frightening horror story with ghosts';
  const before = await feedTitles(page, 10);
  const similarityBefore = await meanSimilarityToText(before, query);

  await searchBox(page).fill(query);
  await expect(feed(page).first()).toContainText(`Matches “${query}”`);
  const after = await feedTitles(page, 10);
  expect(after).not.toEqual(before);
  expect(await meanSimilarityToText(after, query)).toBeGreaterThan(similarityBefore + 0.1);

  await page.getByRole('button', { name: 'Clear search' }).click();
  await expect.poll(() => feedTitles(page, 10)).toEqual(before);
});

test('the Diversity slider spreads the top 10 out', async ({ page }) => {
  test.setTimeout(360_000);
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await untilEmbedded(page);
  // A query concentrates the feed on one topic, where near-duplicates (series) are common.
  await searchBox(page).fill('Harry Potter wizard school');
  await expect(feed(page).first()).toContainText('Matches');

  await diversity(page).fill('0');
  await expect(page.locator('.diversity output')).toHaveText('0%');
  await page.waitForTimeout(500);
  const focused = await feedTitles(page, 10);
  await diversity(page).fill('1');
  await expect(page.locator('.diversity output')).toHaveText('100%');
  await expect.poll(() => feedTitles(page, 10)).not.toEqual(focused);
  const varied = await feedTitles(page, 10);
  const [spreadFocused, spreadVaried] = [await meanPairwiseDistance(focused), await meanPairwiseDistance(varied)];
  expect(spreadVaried).toBeGreaterThan(spreadFocused * 1.1);
});
