/**
 * The shipped catalog cut to its most popular books, for tests whose subject is not the size of the
 * catalog but that need every book read by a text model: a model reads a few hundred books in seconds
 * where it would take minutes over 10,000. Served with page.route, so a test that reloads blocks the
 * service worker (`test.use({ serviceWorkers: 'block' })`), which would otherwise fetch the real catalog.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';

/** The catalog file with only its `size` most popular items, as JSON text. */
export async function popularCatalogJson(size: number): Promise<string> {
  const full = JSON.parse(await readFile('public/catalog/goodbooks-10k.json', 'utf8')) as { items: { popularity?: number }[] };
  const items = [...full.items].sort((a, b) => (b.popularity ?? 0) - (a.popularity ?? 0)).slice(0, size);
  return JSON.stringify({ ...full, items });
}

/** Serves `catalogJson` (popularCatalogJson) in place of the app's catalog. */
export async function servePopularCatalog(page: Page, catalogJson: string): Promise<void> {
  await page.route('**/catalog/goodbooks-10k.json', (route) => route.fulfill({ body: catalogJson, contentType: 'application/json' }));
}
