/**
 * The Privacy panel's row for a large catalog kept on the device (issue 21): the columns file a visit of a
 * columns catalog keeps in OPFS (`vectors/columns/`, src/storage/opfs-columns.ts) is measured by the worker
 * listing OPFS (src/storage/opfs-listing.ts: File objects, real Chromium OPFS here), shown in a row of its
 * own, and removed by "Erase all my data". The files are put in OPFS by the page as a visit would leave
 * them, so the test needs no million-item catalog (e2e/scale-columns.spec.ts runs that, quarantined).
 */
import type { Page } from '@playwright/test';
import { expect, feed, test } from './fixtures';
import { parseCatalog } from '../src/core/catalog';
import { encodeColumns } from '../src/core/catalog-columns';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'storage is backend-independent');
});

const ITEMS = 1234;

/** A columns file of ITEMS items, as the publisher writes it (cli/build-catalog-columns.ts). */
async function columnsFile(): Promise<number[]> {
  const catalog = parseCatalog({
    format: 'private-recs-catalog',
    version: 1,
    name: 'Kept shop',
    items: Array.from({ length: ITEMS }, (_, i) => ({ id: `k${i}`, title: `Kept book ${i}`, text: `Kept book ${i}` })),
  });
  return Array.from(await encodeColumns({ name: 'Kept shop', rowShardItems: 500 }, catalog.items));
}

/** Writes `vectors/columns/<name>` in this origin's OPFS from the page (as the worker's keepColumns leaves it). */
async function putInOpfs(page: Page, name: string, bytes: number[]): Promise<void> {
  await page.evaluate(
    async ({ name, bytes }) => {
      let dir = await navigator.storage.getDirectory();
      for (const part of ['vectors', 'columns']) dir = await dir.getDirectoryHandle(part, { create: true });
      const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
      await writable.write(new Uint8Array(bytes));
      await writable.close();
    },
    { name, bytes },
  );
}

const opfsTop = (page: Page) =>
  page.evaluate(async () => {
    const names: string[] = [];
    for await (const name of ((await navigator.storage.getDirectory()) as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    return names;
  });

test('the catalog kept in OPFS has its own row in the Privacy panel, with its items and bytes, and the erase removes it', async ({ page }) => {
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  const privacy = page.getByRole('region', { name: 'Privacy' });
  const keptRow = privacy.getByRole('row', { name: /The catalog's titles and texts/ });
  // The shipped catalog is small: nothing kept, no row.
  await privacy.scrollIntoViewIfNeeded();
  await expect(privacy.getByRole('row', { name: /^History/ })).toBeVisible();
  await expect(keptRow).toHaveCount(0);

  const bytes = await columnsFile();
  const record = Array.from(new TextEncoder().encode(JSON.stringify({ version: 1, url: '/catalog/kept.columns' })));
  await putInOpfs(page, 'columns-0123456789abcdef.bin', bytes);
  await putInOpfs(page, 'columns-0123456789abcdef.json', record);
  // The panel measures every 5 s while on screen.
  await expect(keptRow).toContainText(ITEMS.toLocaleString('en'), { timeout: 20_000 });
  // Both files' bytes (src/ui/format.ts formatBytes: KB with one decimal below 1 MB).
  const size = bytes.length + record.length;
  expect(size).toBeLessThan(1024 * 1024);
  await expect(keptRow).toContainText(`${(size / 1024).toLocaleString('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} KB`);
  await expect(privacy.getByRole('row', { name: /The catalog's vectors/ })).toHaveCount(0);

  await privacy.getByRole('button', { name: 'Erase all my data' }).click();
  await page.getByRole('dialog', { name: 'Erase all your data?' }).getByRole('button', { name: 'Erase', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'All your data was erased' })).toBeVisible();
  await expect.poll(() => opfsTop(page)).not.toContain('vectors');
});
