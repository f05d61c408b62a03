/**
 * The engine fed hostile input (issue 22's five cases): each is refused or skipped with a warning, the
 * feed keeps its items, and nothing already stored changes.
 */
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it, vi } from 'vitest';
import { textHash } from '../core/hash';
import { IndexedDbStore } from '../storage/db';
import { startTestEngine, TEST_VOCABULARY, WordCountEncoder, type TestItem } from './testing/harness';
import { englishWarnings } from './testing/warnings';

vi.spyOn(console, 'warn').mockImplementation(() => undefined);

const items: TestItem[] = Array.from({ length: 30 }, (_, i) => ({
  id: `b${i}`,
  title: `${TEST_VOCABULARY[i % TEST_VOCABULARY.length]} ${TEST_VOCABULARY[(i * 3 + 1) % TEST_VOCABULARY.length]} ${i}`,
  popularity: 100 - i,
}));
const exportFile = (events: unknown[], weights: unknown[] = []) =>
  JSON.stringify({ format: 'private-recs-export', version: 1, exportedAt: 'x', events, settings: {}, weights });

describe('Engine: hostile input changes nothing', () => {
  it('refuses an imported event at 1e20 (no Date can show it) and keeps the history as it was', async () => {
    const harness = await startTestEngine(items, { feedSize: 4 });
    await harness.engine.record('like', 'b1');
    await expect(harness.engine.importData(exportFile([{ kind: 'like', itemId: 'b2', at: 1e20 }]))).rejects.toThrow(
      /events.0.at: the time must lie between 2000-01-01 and tomorrow/,
    );
    expect((await harness.engine.history()).map((entry) => entry.itemId)).toEqual(['b1']);
  });

  it('warns about cached text vectors holding NaN and computes them again: none is used', async () => {
    const databaseName = `hostile-nan-cache-${Date.now()}`;
    const encoder = new WordCountEncoder();
    const storage = await IndexedDbStore.open(databaseName);
    const vectors = await encoder.embedBatch(items.map((item) => item.title));
    await storage.putEmbeddings(items.map((item, i) => ({ modelId: encoder.id, textHash: textHash(item.title), vector: vectors[i]! })));
    storage.close();
    const raw = await openDB(databaseName);
    const [key] = await raw.getAllKeys('embeddings');
    const chunk = await raw.get('embeddings', key!);
    chunk.scales[0] = Number.NaN;
    chunk.scales[5] = Number.POSITIVE_INFINITY;
    await raw.put('embeddings', chunk);
    raw.close();

    let embedded = 0;
    class Counting extends WordCountEncoder {
      override async embedBatch(texts: string[]) {
        embedded += texts.length;
        return super.embedBatch(texts);
      }
    }
    const harness = await startTestEngine(items, { feedSize: 4, databaseName, overrides: { loadEncoder: async () => new Counting() } });
    await harness.until((s) => s.embedding?.active === false);
    expect(englishWarnings(harness.latest())).toContain('Some stored data could not be used: 2 cached text vectors were damaged and will be computed again.');
    expect(embedded).toBe(2);
    expect(harness.latest().feed).toHaveLength(4);
    const reread = await IndexedDbStore.open(databaseName);
    const cached = await reread.readEmbeddings(encoder.id);
    expect(cached.size).toBe(items.length);
    for (const hash of cached.hashes()) expect(cached.get(hash)!.every(Number.isFinite)).toBe(true);
    reread.close();
  });

  it('refuses a model update of finite ±3e38 values, keeps the model in use and a full feed', async () => {
    const harness = await startTestEngine(items, { feedSize: 4 });
    await harness.until((s) => s.training !== undefined && s.embedding?.active === false);
    await harness.engine.record('like', 'b0');
    const feedBefore = harness.latest().feed;
    const { bytes } = await harness.engine.exportModelUpdate();
    const { decodeModelFile, encodeModelFile } = await import('../core/federated/format');
    const { header, params } = await decodeModelFile(bytes);
    const huge = Object.fromEntries(
      Object.entries(params).map(([name, { shape, values }]) => [name, { shape, values: values.map((_, i) => (i % 2 ? 3e38 : -3e38)) }]),
    );
    const file = await encodeModelFile({ kind: 'global', modelId: header.modelId, catalogFingerprint: header.catalogFingerprint }, huge);
    await expect(harness.engine.importGlobalModel(file, 'huge.prfed')).rejects.toThrow(/huge.prfed: parameter '.*' has a value \(.*\) beyond ±10000/);
    expect(harness.latest().feed).toEqual(feedBefore);
    expect(harness.latest().feed).toHaveLength(4);
  });

  it('a stored taste vector u of NaN is refused with a warning on the next visit, which still recommends', async () => {
    const databaseName = `hostile-nan-u-${Date.now()}`;
    const first = await startTestEngine(items, { feedSize: 4, databaseName });
    await first.until((s) => s.training !== undefined && s.embedding?.active === false);
    await first.engine.record('like', 'b3');
    const raw = await openDB(databaseName);
    const user = await raw.get('weights', 'user/u');
    await raw.put('weights', { ...user, values: new Float32Array(user.values.length).fill(Number.NaN) });
    raw.close();

    const again = await startTestEngine(items, { feedSize: 4, databaseName });
    const opened = await again.until((s) => s.training !== undefined && s.embedding?.active === false);
    expect(englishWarnings(opened).join('\n')).toMatch(
      /Your stored model could not be used \(your taste vector u is missing or damaged\); it was rebuilt from your history/,
    );
    expect(englishWarnings(opened).join('\n')).toMatch(/1 stored model parameter was damaged and ignored/);
    expect(opened.feed).toHaveLength(4);
    expect((await again.engine.history()).map((entry) => entry.itemId)).toEqual(['b3']);
  });
});

describe('Engine: messages from other tabs', () => {
  it('ignores what is not one of its tab messages (any script of the origin can post on the channel)', async () => {
    let deliver: ((message: never) => void) | undefined;
    const harness = await startTestEngine(items, { feedSize: 4, overrides: { onTabMessage: (handler) => (deliver = handler as never) } });
    await harness.engine.record('like', 'b1');
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    for (const message of [
      null,
      'erased',
      42,
      { type: 'delete-everything' },
      { type: { toString: () => 'erased' } },
      JSON.parse('{"__proto__":{"type":"erased"}}'),
    ]) {
      deliver!(message as never);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.off('unhandledRejection', onRejection);
    expect(rejections).toEqual([]);
    expect(harness.latest().reloadReason).toBeUndefined();
    expect(harness.latest().feed).toHaveLength(4);
    expect((await harness.engine.history()).map((entry) => entry.itemId)).toEqual(['b1']);
  });
});
