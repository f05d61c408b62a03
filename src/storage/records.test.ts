import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DB_NAME, IndexedDbStore, type RecsSchema } from './db';
import { checkEmbeddingChunk, checkSettings, isValidEventRecord, isValidWeightRecord } from './records';

let counter = 0;
const freshName = () => `${DB_NAME}-records-test-${++counter}`;
const opened: IndexedDbStore[] = [];
afterEach(() => opened.splice(0).forEach((s) => s.close()));
vi.spyOn(console, 'warn').mockImplementation(() => undefined);

async function open(name: string) {
  const storage = await IndexedDbStore.open(name);
  opened.push(storage);
  return storage;
}

/** Writes records past IndexedDbStore's own write methods, as a damaged disk, an extension or DevTools would. */
async function tamper(name: string, write: (db: Awaited<ReturnType<typeof openDB<RecsSchema>>>) => Promise<unknown>) {
  const db = await openDB<RecsSchema>(name);
  await write(db);
  db.close();
}

const T = Date.UTC(2026, 5, 1);

describe('records read back from IndexedDB', () => {
  it('IndexedDbStore.sizes() measures an embeddings record whose codes are null instead of throwing', async () => {
    const name = freshName();
    const storage = await open(name);
    await storage.appendEvent({ kind: 'like', itemId: 'a', at: T });
    await storage.putEmbeddings([{ modelId: 'm', textHash: 'h', vector: new Float32Array(8).fill(0.5) }]);
    await tamper(name, (db) =>
      db.put('embeddings', { modelId: 'm', chunkId: 'bad', textHashes: ['x'], dimension: 8, codes: null, scales: new Float32Array(1) } as never),
    );
    const sizes = await storage.sizes();
    expect(sizes.embeddings.count).toBe(1);
    expect(sizes.embeddings.invalid).toBe(1);
    expect(sizes.events).toEqual({ count: 1, bytes: expect.any(Number) });
    // The other readers of the store skip it as well.
    expect((await storage.readEmbeddings('m')).size).toBe(1);
    expect(await storage.embeddingUsageByModel()).toEqual(new Map([['m', { count: 2, bytes: expect.any(Number) }]]));
    expect((await storage.deleteEmbeddingsOf(['m'])).count).toBe(2);
  });

  it('leaves out cached vectors whose scale is NaN, infinite, negative or huge, and says so once', async () => {
    const name = freshName();
    const storage = await open(name);
    const vectors = ['a', 'b', 'c', 'd', 'e'].map((textHash) => ({ modelId: 'm', textHash, vector: Float32Array.from({ length: 4 }, (_, j) => (j + 1) / 4) }));
    await storage.putEmbeddings(vectors);
    await tamper(name, async (db) => {
      const chunk = (await db.get('embeddings', ['m', 'a']))!;
      chunk.scales.set([Number.NaN, Number.POSITIVE_INFINITY, -1, 1e30], 0);
      await db.put('embeddings', chunk);
    });
    const cached = await storage.readEmbeddings('m');
    expect([...cached.hashes()]).toEqual(['e']);
    expect(cached.skippedRows).toBe(4);
    expect(cached.get('e')!.every(Number.isFinite)).toBe(true);
    expect(storage.takeSkippedNotes()).toEqual(['4 cached text vectors were damaged and will be computed again']);
    expect(storage.takeSkippedNotes()).toEqual([]);
    // getEmbeddings (used after a model switch) returns no NaN either.
    expect([...(await storage.getEmbeddings('m')).keys()]).toEqual(['e']);
  });

  it('skips events whose time no Date can show, with the other damaged ones', async () => {
    const name = freshName();
    const storage = await open(name);
    await storage.appendEvent({ kind: 'like', itemId: 'kept', at: T });
    await tamper(name, async (db) => {
      for (const at of [1e20, -5, Number.NaN, '2026-01-01']) await db.add('events', { kind: 'like', itemId: 'x', at } as never);
      await db.add('events', { kind: 'like', itemId: '', at: T } as never);
      await db.add('events', { kind: 'like', itemId: 'y'.repeat(201), at: T } as never);
    });
    const listed = await storage.listEvents();
    expect(listed.events.map((event) => event.itemId)).toEqual(['kept']);
    expect(listed.skipped).toBe(6);
    expect((await storage.sizes()).events).toEqual({ count: 1, bytes: expect.any(Number), invalid: 6 });
  });

  it('skips weights with NaN, infinite or overflowing values, or values that do not fit their shape (shared parameters: checked as the model loads them)', async () => {
    const name = freshName();
    const storage = await open(name);
    const good = { name: 'local/b', version: 2, shape: [2], values: new Float32Array([0.5, -1]) };
    await storage.putWeights([good]);
    await tamper(name, async (db) => {
      await db.put('weights', { name: 'user/u', version: 2, shape: [2], values: new Float32Array([Number.NaN, 0]) });
      await db.put('weights', { name: 'local/q', version: 2, shape: [2], values: new Float32Array([3e38, 0]) });
      await db.put('weights', { name: 'local/W', version: 2, shape: [3], values: new Float32Array(2) });
      await db.put('weights', { name: 'global/b', version: 2, shape: [2], values: [1, 2] } as never);
      // A derived cache may hold larger values (W·e), never non-finite ones.
      await db.put('weights', { name: 'cache/projections', version: 2, shape: [2], values: new Float32Array([2e5, 1]) });
      await db.put('weights', { name: 'cache/other', version: 2, shape: [1], values: new Float32Array([Number.POSITIVE_INFINITY]) });
    });
    const names = (await storage.listWeights()).map((weight) => weight.name).sort();
    // local/q's values are the model's to refuse (HybridModel.checkParams, tested in hybrid.test.ts).
    expect(names).toEqual(['cache/projections', 'local/b', 'local/q']);
    expect(storage.takeSkippedNotes()).toEqual(['4 stored model parameters were damaged and ignored']);
  });

  it('keeps settings only as the app writes them: no prototype keys, no nested objects, no NaN', async () => {
    const name = freshName();
    const storage = await open(name);
    await storage.putSettings({ 'encoder.id': 'use-lite', 'model.losses': [0.5, 0.25] });
    await tamper(name, async (db) => {
      await db.put('settings', { polluted: true } as never, '__proto__');
      await db.put('settings', 'x', 'constructor');
      await db.put('settings', { nested: { deep: 1 } } as never, 'federated.noiseMultiplier');
      await db.put('settings', Number.NaN, 'federated.clipNorm');
      await db.put('settings', 10n as never, 'big');
    });
    const settings = await storage.getSettings();
    expect(settings).toEqual({ constructor: 'x', 'encoder.id': 'use-lite', 'model.losses': [0.5, 0.25] });
    expect(Object.getPrototypeOf(settings)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(storage.takeSkippedNotes()[0]).toMatch(/^4 stored settings were damaged and ignored \(/);
    // sizes() neither throws on the BigInt nor counts what the read leaves out.
    expect((await storage.sizes()).settings).toMatchObject({ count: 3, invalid: 4 });
  });
});

describe('record checks', () => {
  it('accept exactly the records the app writes', () => {
    expect(isValidEventRecord({ id: 1, kind: 'genre', itemId: 'fantasy', at: T })).toBe(true);
    expect(isValidEventRecord({ id: 0, kind: 'like', itemId: 'a', at: T })).toBe(false);
    expect(isValidEventRecord({ id: 1, kind: 'love', itemId: 'a', at: T })).toBe(false);
    expect(isValidEventRecord({ id: 1, kind: 'like', itemId: 'a', at: 8.64e15 + 1 })).toBe(false);
    expect(isValidWeightRecord({ name: 'user/u', version: 2, shape: [2], values: new Float32Array([1e4, -1e4]) })).toBe(true);
    expect(isValidWeightRecord({ name: 'user/u', version: 2, shape: [2], values: new Float32Array([1e4 + 1, 0]) })).toBe(false);
    expect(isValidWeightRecord({ name: 'local/q', version: 2, shape: [2], values: new Float32Array([1e4 + 1, 0]) })).toBe(true);
    expect(isValidWeightRecord({ name: 'local/q', version: 2, shape: [3], values: new Float32Array([1, 0]) })).toBe(false);
    expect(
      checkEmbeddingChunk({ modelId: 'm', chunkId: 'a', textHashes: ['a'], dimension: 5000, codes: new Int8Array(5000), scales: new Float32Array(1) }).chunk,
    ).toBeUndefined();
    expect(checkSettings(['a', 'b'], [[1, 'x', null, true], [{}]])).toEqual({ settings: { a: [1, 'x', null, true] }, skipped: ['b'] });
  });
});
