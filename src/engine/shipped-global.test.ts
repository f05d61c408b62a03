import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { HybridModel } from '../core/model/hybrid';
import { catalogFingerprint, modelIdFor } from '../core/model/identity';
import { encodeShippedGlobal, shippedGlobalUrl } from '../core/model/shipped-global';
import { serveFiles, SIX_BOOKS, startTestEngine, WordCountEncoder, type EngineHarness } from './testing/harness';
import { englishWarnings } from './testing/warnings';

const items = SIX_BOOKS;
const ids = items.map((item) => item.id);
const MODEL_ID = modelIdFor('word-count-test');
const URL_OF_FILE = shippedGlobalUrl('/catalog.json', MODEL_ID);
const TEXT_ONLY = 'built on this device from the catalog text';

/**
 * A publisher's model for the test catalog whose readers, unlike the text, put 'War history' first:
 * b = 10 for it, 0 for the rest. A new user (u = 0) is ranked by b, so the feed shows which model opened.
 */
async function shippedFile(overrides: { modelId?: string; itemIds?: string[] } = {}): Promise<Uint8Array> {
  const encoder = new WordCountEncoder();
  const embeddings = new Float32Array(items.length * encoder.dimension);
  (await encoder.embedBatch(items.map((item) => item.title))).forEach((vector, i) => embeddings.set(vector, i * encoder.dimension));
  const model = new HybridModel({ itemIds: ids, embeddings, embeddingDim: encoder.dimension, factors: encoder.dimension });
  model.b[ids.indexOf('h1')] = 10;
  return encodeShippedGlobal(
    {
      modelId: overrides.modelId ?? MODEL_ID,
      catalogFingerprint: catalogFingerprint(overrides.itemIds ?? ids),
      readers: 3,
      description: 'trained on 3 readers of Test catalog',
    },
    model.getParams(),
  );
}

const modelOpen = (harness: EngineHarness) => harness.until((s) => s.training !== undefined && s.feed.length > 0);

describe('the shipped global model', () => {
  it('a first visit starts from it; a returning visit restores its own model without fetching it again', async () => {
    const served = serveFiles({ [URL_OF_FILE]: await shippedFile() });
    const databaseName = `shipped-global-${Date.now()}`;
    const harness = await startTestEngine(items, { feedSize: 6, databaseName, overrides: { fetchBytes: served.fetchBytes } });
    const opened = await modelOpen(harness);
    expect(served.requested).toContain(URL_OF_FILE);
    expect(opened.training!.globalSource).toBe('trained on 3 readers of Test catalog');
    // Its readers' preference (b) leads the first feed, not the catalog's most popular book.
    expect(opened.feed[0]!.id).toBe('h1');
    expect(opened.warnings).toEqual([]);

    const again = serveFiles({ [URL_OF_FILE]: await shippedFile() });
    const returning = await startTestEngine(items, { feedSize: 6, databaseName, overrides: { fetchBytes: again.fetchBytes } });
    const restored = await modelOpen(returning);
    expect(restored.training!.globalSource).toBe('trained on 3 readers of Test catalog');
    expect(again.requested).not.toContain(URL_OF_FILE);
  });

  it('without one (404) the model starts from the text, silently', async () => {
    const served = serveFiles({});
    const harness = await startTestEngine(items, { feedSize: 6, overrides: { fetchBytes: served.fetchBytes } });
    const opened = await modelOpen(harness);
    expect(served.requested).toContain(URL_OF_FILE);
    expect(opened.training!.globalSource).toBe(TEXT_ONLY);
    expect(opened.feed[0]!.id).not.toBe('h1');
    expect(opened.warnings).toEqual([]);
  });

  it.each([
    [
      'damaged',
      async () => {
        const bytes = (await shippedFile()).slice();
        bytes[bytes.length - 3]! ^= 0x10;
        return bytes;
      },
      /checksum does not match/,
    ],
    ['for another model', () => shippedFile({ modelId: 'hybrid-other-d32@1' }), /is for the model hybrid-other-d32@1/],
    ['for another catalog', () => shippedFile({ itemIds: [...ids].reverse() }), /another version of the catalog/],
    ['not one at all (an HTML page)', async () => new TextEncoder().encode('<!doctype html><title>Not found</title>'), /not a shipped global model file/],
  ])('a file %s is ignored with a warning naming why; the feed works', async (_, file, why) => {
    const served = serveFiles({ [URL_OF_FILE]: await file() });
    const harness = await startTestEngine(items, { feedSize: 6, overrides: { fetchBytes: served.fetchBytes } });
    const opened = await modelOpen(harness);
    expect(opened.training!.globalSource).toBe(TEXT_ONLY);
    expect(opened.feed).toHaveLength(6);
    const warning = englishWarnings(opened).find((w) => w.includes('shipped recommendation model was ignored'));
    expect(warning).toMatch(why);
    // The model still learns: a like moves the feed toward the liked book's neighbour. The online step's
    // random negative is pinned to a book unlike both ('Robot on a far planet'): drawn at random, it was
    // d2 itself one time in five, and a step away from the neighbour is not what this checks.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      await harness.engine.record('like', 'd1');
    } finally {
      random.mockRestore();
    }
    expect(harness.latest().feed[0]!.id).toBe('d2');
  });

  it('a download that fails is a warning too, not a broken feed', async () => {
    const harness = await startTestEngine(items, {
      feedSize: 6,
      overrides: { fetchBytes: async (url) => (url === URL_OF_FILE ? Promise.reject(new Error('HTTP 500')) : undefined) },
    });
    const opened = await modelOpen(harness);
    expect(opened.training!.globalSource).toBe(TEXT_ONLY);
    expect(englishWarnings(opened).join(' ')).toMatch(/could not be read \(HTTP 500\)/);
  });
});
