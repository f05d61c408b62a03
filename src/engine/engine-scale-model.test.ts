import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../core/catalog';
import { CatalogIndex } from '../core/catalog-index';
import { mostPopular } from '../core/index/pool-rank';
import { HybridModel } from '../core/model/hybrid';
import { modelIdFor } from '../core/model/identity';
import { encodeShippedGlobal, shippedGlobalUrl } from '../core/model/shipped-global';
import { IndexedDbStore } from '../storage/db';
import { startTestEngine, testCatalog, WordCountEncoder } from './testing/harness';
import { memoryOpfs, publishShards, scaleItems, scaleStorage } from './testing/scale-engine-fixture';
import { partnerHeadFile } from './testing/scale-head-fixture';
import { SCALE_ITEMS, SCALE_USER } from './scale-model';

// Above SCALE_MIN_ITEMS (50,000): the scale path.
const n = 60_000;
const items = scaleItems(n);
const catalogUrl = '/catalog.json';

/** The publisher's global model for the 300 most popular items, listed by id: W the head's principal directions, q = 0, small biases. */
async function globalModel(): Promise<Uint8Array> {
  const catalog = new CatalogIndex(parseCatalogText(testCatalog(items)).items);
  const head = mostPopular(catalog.popularity, 300);
  const encoder = new WordCountEncoder();
  const rows = await encoder.embedBatch(head.map((index) => catalog.texts[index]!));
  const embeddings = new Float32Array(head.length * encoder.dimension);
  rows.forEach((row, c) => embeddings.set(row, c * encoder.dimension));
  const ids = head.map((index) => items[index]!.id);
  const model = new HybridModel({ itemIds: ids, embeddings, embeddingDim: encoder.dimension, factors: Math.min(32, encoder.dimension) });
  ids.forEach((_, c) => (model.b[c] = 0.01 * (c % 7)));
  const info = { modelId: modelIdFor(encoder.id), catalogFingerprint: 'the publisher', readers: 10, description: 'trained on 10 readers' };
  return encodeShippedGlobal(info, model.getParams(), ids);
}

describe('the recommendation model at catalog scale', () => {
  it('opens the global model at the first like and ranks the pool by it; a second like moves u and the feed; u is kept in IndexedDB', async () => {
    const files = await publishShards(items, catalogUrl);
    const bytes = await globalModel();
    const globalUrl = shippedGlobalUrl(catalogUrl, modelIdFor(new WordCountEncoder().id));
    files.set(globalUrl, bytes);
    const opfs = memoryOpfs();
    const requests: string[] = [];
    const databaseName = `engine-scale-model-${Date.now()}`;
    const engine = await startTestEngine(items, {
      feedSize: 10,
      databaseName,
      overrides: { scaleStorage: scaleStorage(files, opfs, requests), fetchBytes: async (url: string) => (requests.push(url), files.get(url)) },
    });
    await expect.poll(async () => (await engine.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    // Nothing is asked before the reader acts; the first like opens the model, which learns it.
    expect(requests).not.toContain(globalUrl);
    const romance = items.find((item) => item.title.startsWith('romance romance'))!;
    await engine.engine.record('like', romance.id);
    const store = await IndexedDbStore.open(databaseName);
    const stored = async () => (await store.listWeights()).find((weight) => weight.name === SCALE_USER)?.key?.split(' ')[1];
    await expect.poll(stored, { timeout: 60_000 }).toBe('1');
    // The model ranked that feed: only ScaleModel.rank learns and stores u (the romance like is the first event).
    const byModel = engine.latest();
    expect(byModel.feed).toHaveLength(10);
    expect(requests.filter((url) => url === globalUrl)).toHaveLength(1);
    expect(byModel.warnings.map((w) => w.code)).not.toContain('shippedModelIgnored');

    // A second like moves u again (two events learned) and the feed with it.
    const dragon = items.find((item) => item.title.startsWith('dragon dragon'))!;
    await engine.engine.record('like', dragon.id);
    expect(engine.latest().feed.map((item) => item.id)).not.toEqual(byModel.feed.map((item) => item.id));
    expect(engine.latest().feed.map((item) => item.id)).not.toContain(dragon.id);
    await expect.poll(stored, { timeout: 5000 }).toBe('2');
    const u = (await store.listWeights()).find((weight) => weight.name === SCALE_USER)!;
    expect([...u.values].some((x) => x !== 0)).toBe(true);
    await engine.engine.eraseAll();
  }, 120_000);

  it("brings in the model's own candidates: an item the head pairs with the liked one, of another topic and little read, outside the text pool", async () => {
    const files = await publishShards(items, catalogUrl);
    const catalog = new CatalogIndex(parseCatalogText(testCatalog(items)).items);
    const liked = items.find((item) => item.title.startsWith('romance romance'))!;
    // Another topic, and among the least popular: neither the index's nearest to a romance nor the popular items.
    const partner = items.find((item) => item.title.startsWith('dragon dragon') && (item.popularity ?? Infinity) < 1010)!;
    const encoder = new WordCountEncoder();
    const head = mostPopular(catalog.popularity, 300).map((index) => items[index]!.id);
    const globalUrl = shippedGlobalUrl(catalogUrl, modelIdFor(encoder.id));
    files.set(globalUrl, await partnerHeadFile({ encoderId: encoder.id, embeddingDim: encoder.dimension, ids: head, partners: [[liked.id, partner.id]] }));
    const engine = await startTestEngine(items, {
      feedSize: 10,
      databaseName: `engine-scale-model-candidates-${Date.now()}`,
      overrides: { scaleStorage: scaleStorage(files, memoryOpfs(), []), fetchBytes: async (url: string) => files.get(url) },
    });
    await expect.poll(async () => (await engine.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    expect(engine.latest().feed.map((item) => item.id)).not.toContain(partner.id);
    await engine.engine.record('like', liked.id);
    // The model opens, builds the head's v_i, and ranks again: the partner first (the text's pool lacks it).
    await expect.poll(() => engine.latest().feed[0]?.id, { timeout: 60_000 }).toBe(partner.id);
    expect(engine.latest().feed.map((item) => item.id)).not.toContain(liked.id);
    await engine.engine.eraseAll();
  }, 120_000);

  it('asks for the global model at the first like, once: a returning visit after a 404 asks nothing (the content profile ranks both)', async () => {
    const files = await publishShards(items, catalogUrl);
    const opfs = memoryOpfs();
    const globalUrl = shippedGlobalUrl(catalogUrl, modelIdFor(new WordCountEncoder().id));
    const asked: string[] = [];
    const databaseName = `engine-scale-no-model-${Date.now()}`;
    const visit = () =>
      startTestEngine(items, {
        feedSize: 10,
        databaseName,
        overrides: { scaleStorage: scaleStorage(files, opfs, []), fetchBytes: async (url: string) => (asked.push(url), files.get(url)) },
      });
    const first = await visit();
    await first.engine.record('like', 'i3');
    await expect.poll(() => asked.filter((url) => url === globalUrl).length, { timeout: 60_000 }).toBe(1);
    await expect.poll(async () => (await first.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    const returning = await visit();
    await expect.poll(async () => (await returning.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    await returning.engine.record('like', 'i7');
    expect(returning.latest().feed).toHaveLength(10);
    expect(asked.filter((url) => url === globalUrl)).toHaveLength(1);
    expect(returning.latest().warnings.map((w) => w.code)).not.toContain('shippedModelIgnored');
    await returning.engine.eraseAll();
  }, 120_000);

  it("keeps the touched items' own q_i, b_i beside u; a returning visit restores them to the bit and goes on from them", async () => {
    const files = await publishShards(items, catalogUrl);
    files.set(shippedGlobalUrl(catalogUrl, modelIdFor(new WordCountEncoder().id)), await globalModel());
    const opfs = memoryOpfs();
    const databaseName = `engine-scale-own-items-${Date.now()}`;
    const visit = () =>
      startTestEngine(items, {
        feedSize: 10,
        databaseName,
        overrides: { scaleStorage: scaleStorage(files, opfs, []), fetchBytes: async (url: string) => files.get(url) },
      });
    const first = await visit();
    await expect.poll(async () => (await first.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    const store = await IndexedDbStore.open(databaseName);
    const weight = async (name: string) => (await store.listWeights()).find((stored) => stored.name === name);
    const learned = async () => (await weight(SCALE_USER))?.key?.split(' ')[1];
    const romance = items.find((item) => item.title.startsWith('romance romance'))!;
    await first.engine.record('like', romance.id);
    await expect.poll(learned, { timeout: 60_000 }).toBe('1');
    const clicked = first.latest().feed[3]!.id;
    await first.engine.record('click', clicked);
    await expect.poll(learned, { timeout: 5000 }).toBe('2');
    const own = (await weight(SCALE_ITEMS))!;
    const u = (await weight(SCALE_USER))!;
    expect(own.key).toBe(`${u.key}\n${JSON.stringify([romance.id, clicked])}`);
    const width = u.values.length + 1;
    expect(own.shape).toEqual([2, width]);

    // A returning visit: a third event is learned from the restored u and rows (replayed from zero, with
    // other random negatives, the first two rows would differ).
    const returning = await visit();
    await expect.poll(async () => (await returning.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    const third = returning.latest().feed.find((item) => item.id !== clicked)!.id;
    await returning.engine.record('click', third);
    await expect.poll(learned, { timeout: 60_000 }).toBe('3');
    const after = (await weight(SCALE_ITEMS))!;
    expect(after.key!.split('\n')[1]).toBe(JSON.stringify([romance.id, clicked, third]));
    expect([...after.values.subarray(0, 2 * width)]).toEqual([...own.values]);
    expect([...after.values.subarray(2 * width)].some((x) => x !== 0)).toBe(true);
    await returning.engine.eraseAll();
  }, 180_000);

  it('fine-tunes u over the whole history after three likes or clicks, once the reader pauses: u moves, its key (the history learned) does not', async () => {
    const files = await publishShards(items, catalogUrl);
    files.set(shippedGlobalUrl(catalogUrl, modelIdFor(new WordCountEncoder().id)), await globalModel());
    const databaseName = `engine-scale-fine-tune-${Date.now()}`;
    const engine = await startTestEngine(items, {
      feedSize: 10,
      databaseName,
      overrides: { scaleStorage: scaleStorage(files, memoryOpfs(), []), fetchBytes: async (url: string) => files.get(url) },
    });
    await expect.poll(async () => (await engine.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    const store = await IndexedDbStore.open(databaseName);
    const u = async () => (await store.listWeights()).find((stored) => stored.name === SCALE_USER);
    await engine.engine.record('like', items.find((item) => item.title.startsWith('romance romance'))!.id);
    await expect.poll(async () => (await u())?.key?.split(' ')[1], { timeout: 60_000 }).toBe('1');
    await engine.engine.record('like', items.find((item) => item.title.startsWith('dragon dragon'))!.id);
    await engine.engine.record('click', engine.latest().feed[0]!.id);
    await expect.poll(async () => (await u())?.key?.split(' ')[1], { timeout: 5000 }).toBe('3');
    const online = (await u())!;
    // SCALE_FINE_TUNE_IDLE_MS (2.5 s) after the last rank, then one fine-tune.
    await expect.poll(async () => [...(await u())!.values].join(), { timeout: 30_000 }).not.toBe([...online.values].join());
    expect((await u())!.key).toBe(online.key);
    await engine.engine.eraseAll();
  }, 120_000);
});
