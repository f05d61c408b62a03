import type { Page } from '@playwright/test';
import { readFile, writeFile } from 'node:fs/promises';
import { decodeModelFile, encodeModelFile } from '../src/core/federated/format';
import type { ParamSet } from '../src/core/federated/params';
import { card, expect, feed, feedTitles, like, sharedPage, test } from './fixtures';

// The model's math is backend-independent (unit tests compare backends): run once.
test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'the model is backend-independent; run once');
});

// Every book's vector from the catalog's shipped file (the suite answers 404 for it elsewhere:
// e2e/fixtures.ts): reading 10,000 books here would take minutes and is what other specs test. The
// global model stays 404, so the model still starts from the catalog text and trains on the device.

const modelPanel = (page: Page) => page.getByRole('region', { name: 'Model' });
const privacy = (page: Page) => page.getByRole('region', { name: 'Privacy' });
/**
 * Opens the app, waits for the model to start, likes the top book three times (the feed re-ranks after
 * each like) and waits for the fine-tune to finish. Returns the loss chart's summary and the liked titles.
 */
async function trainOnThreeLikes(page: Page, { wholeCatalog = false } = {}): Promise<{ summary: string; liked: string[] }> {
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await expect(modelPanel(page)).toContainText('Hybrid matrix factorisation', { timeout: 180_000 });
  // With the whole catalog embedded the feed depends only on the model and the history, so it can be
  // compared across a reload (while embedding runs, each batch adds candidates).
  if (wholeCatalog) await expect(page.locator('#embedding-progress')).toHaveCount(0, { timeout: 360_000 });
  const liked: string[] = [];
  for (let i = 0; i < 3; i++) {
    const [top] = await feedTitles(page, 1);
    await like(page, top!);
    liked.push(top!);
  }
  const chart = modelPanel(page).getByRole('img', { name: /^Training loss over \d+ epochs/ });
  await expect(chart).toBeVisible({ timeout: 120_000 });
  await expect(modelPanel(page).locator('#training-progress')).toHaveCount(0, { timeout: 120_000 });
  return { summary: (await chart.getAttribute('aria-label'))!, liked };
}

// One reader's story in one page: the model trained on three likes, restored by a reload, then its update
// exported and an aggregated model imported (each step used to train a model of its own first).
test.describe.serial('one reader', () => {
  const shared = sharedPage({ shippedVectors: true });
  let liked: string[] = [];

  test('the model trains on the device, shows its loss, and a reload restores it', async () => {
    test.setTimeout(600_000);
    const page = await shared.page();
    const trained = await trainOnThreeLikes(page, { wholeCatalog: true });
    const { summary } = trained;
    liked = trained.liked;
    const [, first, last] = /from (\d+\.\d+) to (\d+\.\d+)/.exec(summary)!;
    expect(Number(last)).toBeLessThan(Number(first));
    await expect(page.getByRole('status').filter({ hasText: /^Running on / })).toBeVisible();
    const feedBefore = await feedTitles(page, 10);

    await page.reload();
    await expect(feed(page)).toHaveCount(20);
    await expect(modelPanel(page).getByRole('img', { name: summary })).toBeVisible({ timeout: 60_000 });
    await expect.poll(() => feedTitles(page, 10), { timeout: 30_000 }).toEqual(feedBefore);
  });

  test('a model update needs consent, holds no history, and an aggregated model can be imported', async ({}, testInfo) => {
    test.setTimeout(420_000);
    // The page of the test before: its model trained on three likes and restored by a reload.
    const page = await shared.page();
    expect(liked).toHaveLength(3);
    await expect(modelPanel(page).getByRole('img', { name: /^Training loss over \d+ epochs/ })).toBeVisible();

    await privacy(page).getByRole('button', { name: 'Export model update' }).click();
    const dialog = page.getByRole('dialog', { name: 'Export a model update?' });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText('Never included: your history, your searches, your personal taste vector');
    await expect(dialog).toContainText(/ε = [\d.]+ at δ = 1e-5/);
    const download = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Save update file' }).click();
    const path = (await (await download).path())!;
    const bytes = new Uint8Array(await readFile(path));
    const { header, params } = await decodeModelFile(bytes, 'update');
    expect(header).toMatchObject({ kind: 'delta', clipNorm: 1, noiseMultiplier: 5, delta: 1e-5, weight: 1 });
    expect(Object.keys(params).sort()).toEqual(['W', 'b', 'q', 'ranker/bias', 'ranker/weights']);
    // Nothing but the header and the floats: no title, no item id list, no user vector, no query.
    const text = Buffer.from(bytes).toString('latin1');
    for (const title of liked) expect(text).not.toContain(title.slice(0, 12));
    expect(text).not.toMatch(/"(events|itemId|user|query)"/);

    // An aggregated global model for this catalog: the device's starting point with biases that favour
    // two books nobody touched here. Importing it changes the feed and keeps the history.
    await expect(privacy(page).getByRole('row', { name: /History/ })).not.toContainText('…');
    const exportDownload = page.waitForEvent('download');
    await privacy(page).getByRole('button', { name: 'Export my data' }).click();
    const data = JSON.parse(await readFile((await (await exportDownload).path())!, 'utf8')) as {
      events: { kind: string }[];
      weights: { name: string; shape: number[]; values: number[] }[];
    };
    const globalParams: ParamSet = Object.fromEntries(
      data.weights.filter((w) => w.name.startsWith('global/')).map((w) => [w.name.slice(7), { shape: w.shape, values: Float32Array.from(w.values) }]),
    );
    const catalog = JSON.parse(await readFile('public/catalog/goodbooks-10k.json', 'utf8')) as { items: { id: string; title: string }[] };
    const favoured = ['Dune (Dune Chronicles #1)', 'The Martian'];
    const favouredIndices = favoured.map((title) => catalog.items.findIndex((item) => item.title === title));
    expect(favouredIndices.every((i) => i >= 0)).toBe(true);
    const b = globalParams.b!;
    globalParams.b = { shape: b.shape, values: b.values.map((v, i) => (favouredIndices.includes(i) ? v + 50 : v)) };
    const globalFile = testInfo.outputPath('global.prfed');
    await writeFile(globalFile, await encodeModelFile({ kind: 'global', modelId: header.modelId, catalogFingerprint: header.catalogFingerprint, contributors: 40 }, globalParams));

    const historyBefore = (await page.getByRole('region', { name: 'History' }).getByRole('listitem').count());
    for (const title of favoured) await expect(card(page, title)).toHaveCount(0);
    const chooser = page.waitForEvent('filechooser');
    await privacy(page).getByRole('button', { name: 'Import model update' }).click();
    await (await chooser).setFiles(globalFile);
    await expect(modelPanel(page)).toContainText('imported from “global.prfed”');
    for (const title of favoured) await expect(card(page, title)).toHaveCount(1);
    await expect(page.getByRole('region', { name: 'History' }).getByRole('listitem')).toHaveCount(historyBefore);

    // A file for another catalog is refused with a message; the imported model stays.
    const wrong = testInfo.outputPath('wrong.prfed');
    const neutral = { ...globalParams, b: { shape: b.shape, values: new Float32Array(b.values.length) } };
    await writeFile(wrong, await encodeModelFile({ kind: 'global', modelId: header.modelId, catalogFingerprint: 'another-catalog' }, neutral));
    const again = page.waitForEvent('filechooser');
    await privacy(page).getByRole('button', { name: 'Import model update' }).click();
    await (await again).setFiles(wrong);
    await expect(privacy(page).getByRole('alert')).toContainText('another catalog');
    await expect(privacy(page).getByRole('alert')).toContainText('Nothing was changed');
    await expect(modelPanel(page)).toContainText('imported from “global.prfed”');
    for (const title of favoured) await expect(card(page, title)).toHaveCount(1);
  });
});
