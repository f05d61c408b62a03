/**
 * The engine's worker fails where only the page can see it: its script does not load. The page says
 * so (an alert with the cause, and that nothing was lost) instead of "Loading…" for ever.
 */
import { expect, test } from './fixtures';

test('the engine worker’s script fails to load: the page shows an error with the cause, not an endless loading line', async ({ page }) => {
  await page.route(/\/assets\/worker-[\w-]+\.js(?:\?|$)/, (route) => route.fulfill({ status: 500, contentType: 'text/plain', body: 'server error' }));
  await page.goto('/');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('The recommendation engine could not start', { timeout: 20_000 });
  await expect(page.getByText('Nothing you did was lost')).toBeVisible();
  // Export and erase run in the worker: not offered when the worker is what failed (they would never answer).
  await expect(page.getByRole('button', { name: 'Export my data' })).toHaveCount(0);
});
