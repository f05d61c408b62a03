import 'fake-indexeddb/auto';
import { openDB, unwrap, type IDBPDatabase } from 'idb';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_NAME, DB_VERSION, deleteDatabase, MIGRATIONS, IndexedDbStore, type RecsSchema } from './db';

let counter = 0;
const freshName = () => `${DB_NAME}-test-${++counter}`;
const opened: IndexedDbStore[] = [];
afterEach(() => opened.splice(0).forEach((s) => s.close()));

async function open(name: string) {
  const storage = await IndexedDbStore.open(name);
  opened.push(storage);
  return storage;
}

describe('IndexedDbStore', () => {
  it('appends events with monotonic ids and lists them back', async () => {
    const storage = await open(freshName());
    const a = await storage.appendEvent({ kind: 'like', itemId: '1', at: 1000 });
    const b = await storage.appendEvent({ kind: 'dislike', itemId: '2', at: 2000 });
    expect(b.id).toBeGreaterThan(a.id);
    expect(await storage.listEvents()).toEqual({ events: [a, b], skipped: 0 });
  });

  it('stores a genre choice as an event like any other (its itemId is the genre name)', async () => {
    const storage = await open(freshName());
    const chosen = await storage.appendEvent({ kind: 'genre', itemId: 'horror', at: 10 });
    const liked = await storage.appendEvent({ kind: 'like', itemId: '1', at: 20 });
    expect(await storage.listEvents()).toEqual({ events: [chosen, liked], skipped: 0 });
    await storage.deleteEvents([chosen.id]);
    expect((await storage.listEvents()).events).toEqual([liked]);
  });

  it('keeps events across reopening', async () => {
    const name = freshName();
    const first = await open(name);
    await first.appendEvent({ kind: 'click', itemId: '9', at: 5 });
    first.close();
    const second = await open(name);
    expect((await second.listEvents()).events.map((e) => e.itemId)).toEqual(['9']);
  });

  it('skips a record that fails to decode and still loads the rest', async () => {
    const name = freshName();
    const storage = await open(name);
    await storage.appendEvent({ kind: 'like', itemId: '1', at: 1 });
    const raw = await openDB(name);
    await raw.put('events', { id: 99, kind: 'teleport', itemId: 5, at: 'yesterday' });
    raw.close();
    const reopened = await open(name);
    expect(await reopened.listEvents()).toMatchObject({ events: [{ itemId: '1' }], skipped: 1 });
  });

  it('caches embeddings per model and text hash', async () => {
    const storage = await open(freshName());
    await storage.putEmbeddings([
      { modelId: 'm1', textHash: 'h1', vector: Float32Array.of(1, 2) },
      { modelId: 'm1', textHash: 'h2', vector: Float32Array.of(3, 4) },
    ]);
    await storage.putEmbeddings([{ modelId: 'm2', textHash: 'h1', vector: Float32Array.of(5, 6) }]);
    // Stored as int8 with a per-row scale: equal to within 1/127 of the row's largest value.
    const near = (values: number[]) => values.map((v) => expect.closeTo(v, 1));
    expect(Array.from((await storage.getEmbeddings('m1', ['h2'])).get('h2')!)).toEqual(near([3, 4]));
    const m1 = await storage.getEmbeddings('m1', ['h1', 'h3']);
    expect([...m1.keys()]).toEqual(['h1']);
    expect(Array.from(m1.get('h1')!)).toEqual(near([1, 2]));
    expect(Array.from((await storage.getEmbeddings('m2', ['h1'])).get('h1')!)).toEqual(near([5, 6]));
  });

  it('decodes cached vectors straight into a matrix row, with the values get() gives', async () => {
    const storage = await open(freshName());
    await storage.putEmbeddings([
      { modelId: 'm1', textHash: 'h1', vector: Float32Array.of(1, -2, 0.5) },
      { modelId: 'm1', textHash: 'h2', vector: Float32Array.of(3, 4, -5) },
    ]);
    await storage.putEmbeddings([{ modelId: 'm1', textHash: 'h3', vector: Float32Array.of(0.25, 0, 1) }]);
    const table = await storage.readEmbeddings('m1');
    expect(table.size).toBe(3);
    expect([...table.hashes()].sort()).toEqual(['h1', 'h2', 'h3']);
    expect(table.dimensionOf('h3')).toBe(3);
    expect(table.dimensionOf('nope')).toBeUndefined();
    const matrix = new Float32Array(3 * 3).fill(9);
    // Rows in another order than stored, across two stored batches; a missing text leaves its row alone.
    expect(table.decodeInto('h3', matrix, 0, 3)).toBe(true);
    expect(table.decodeInto('h1', matrix, 3, 3)).toBe(true);
    expect(table.decodeInto('nope', matrix, 6, 3)).toBe(false);
    expect(Array.from(matrix.subarray(0, 3))).toEqual(Array.from(table.get('h3')!));
    expect(Array.from(matrix.subarray(3, 6))).toEqual(Array.from(table.get('h1')!));
    expect(Array.from(matrix.subarray(6))).toEqual([9, 9, 9]);
    // A vector of another width is not written into a row of this one.
    expect(table.decodeInto('h2', matrix, 6, 2)).toBe(false);
    expect(Array.from(matrix.subarray(6))).toEqual([9, 9, 9]);
    expect((await storage.readEmbeddings('m2')).size).toBe(0);
  });

  it('asCached gives exactly the vector a reload reads back, whatever the vector', async () => {
    const storage = await open(freshName());
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -4, max: 4 }), { minLength: 1, maxLength: 64 }), async (values) => {
        const vector = Float32Array.from(values);
        const textHash = `p${++batch}`;
        await storage.putEmbeddings([{ modelId: 'prop', textHash, vector }]);
        const readBack = (await storage.getEmbeddings('prop', [textHash])).get(textHash)!;
        expect(Array.from(IndexedDbStore.asCached(vector))).toEqual(Array.from(readBack));
      }),
      { numRuns: 100 },
    );
  });

  it("compacts one model's cache into fewer records, every vector reading back bit for bit", async () => {
    const storage = await open(freshName());
    const vector = (seed: number) => Float32Array.from({ length: 4 }, (_, j) => Math.sin(seed * 7 + j));
    for (let batch = 0; batch < 20; batch++) {
      await storage.putEmbeddings([0, 1, 2].map((k) => ({ modelId: 'm', textHash: `h${batch * 3 + k}`, vector: vector(batch * 3 + k) })));
    }
    // A text cached again in a later record: the later vector is the one read, before and after.
    await storage.putEmbeddings([
      { modelId: 'm', textHash: 'h5', vector: vector(99) },
      { modelId: 'm', textHash: 'zz', vector: vector(100) },
    ]);
    await storage.putEmbeddings([{ modelId: 'other', textHash: 'h1', vector: vector(5) }]);
    const read = async (modelId: string) => {
      const cached = await storage.readEmbeddings(modelId);
      return new Map([...cached.hashes()].map((hash) => [hash, Array.from(cached.get(hash)!)]));
    };
    const [before, otherBefore] = [await read('m'), await read('other')];
    expect(before.get('h5')).toEqual(Array.from(IndexedDbStore.asCached(vector(99))));
    // 61 texts in 21 records → records of up to 8.
    expect(await storage.compactEmbeddings('m', { perRecord: 8, threshold: 16 })).toEqual({ before: 21, after: 8 });
    expect(await read('m')).toEqual(before);
    expect(await read('other')).toEqual(otherBefore);
    expect((await storage.embeddingUsageByModel()).get('m')?.count).toBe(61);
    // Compact already (or few records): nothing is rewritten.
    expect(await storage.compactEmbeddings('m', { perRecord: 8, threshold: 16 })).toEqual({ before: 8, after: 8 });
  });

  it("reports cached vectors per model and deletes one model's vectors only", async () => {
    const storage = await open(freshName());
    await storage.putEmbeddings([
      { modelId: 'm1', textHash: 'h1', vector: Float32Array.of(1, 2) },
      { modelId: 'm1', textHash: 'h2', vector: Float32Array.of(3, 4) },
    ]);
    await storage.putEmbeddings([{ modelId: 'Xenova/m2', textHash: 'h1', vector: Float32Array.of(5, 6, 7) }]);
    const usage = await storage.embeddingUsageByModel();
    expect(usage.get('m1')).toEqual({ count: 2, bytes: 2 * 2 + 2 * 4 + 2 * 16 });
    expect(usage.get('Xenova/m2')).toEqual({ count: 1, bytes: 3 + 4 + 16 });
    expect(await storage.deleteEmbeddingsOf(['Xenova/m2'])).toEqual(usage.get('Xenova/m2'));
    expect((await storage.getEmbeddings('Xenova/m2', ['h1'])).size).toBe(0);
    expect((await storage.getEmbeddings('m1', ['h1', 'h2'])).size).toBe(2);
    expect([...(await storage.embeddingUsageByModel()).keys()]).toEqual(['m1']);
  });

  it('refuses a batch that mixes models or dimensions', async () => {
    const storage = await open(freshName());
    await expect(
      storage.putEmbeddings([
        { modelId: 'm1', textHash: 'h1', vector: Float32Array.of(1, 2) },
        { modelId: 'm1', textHash: 'h2', vector: Float32Array.of(3, 4, 5) },
      ]),
    ).rejects.toThrow(RangeError);
  });
});

describe('migrations', () => {
  it('opens a v1 database with events and keeps every event at the current version', async () => {
    const name = freshName();
    // A database as version 1 of the app wrote it, built by the real v1 migration.
    const v1 = await openDB<RecsSchema>(name, 1, {
      upgrade: (database, _old, _new, transaction) => MIGRATIONS[0]!(database, transaction),
    });
    const written = [];
    for (let i = 0; i < 250; i++) {
      const event = { kind: (['like', 'click', 'dislike', 'view'] as const)[i % 4], itemId: String(i % 37), at: 1_000 + i };
      written.push({ ...event, id: await v1.add('events', event as never) });
    }
    v1.close();

    const storage = await open(name);
    expect(DB_VERSION).toBeGreaterThan(1);
    expect((await storage.listEvents()).events).toEqual(written);
    // The new stores work.
    await storage.putSetting('feedSize', 20);
    expect(await storage.getSettings()).toEqual({ feedSize: 20 });
    await storage.putWeight({ name: 'user', version: 1, shape: [2], values: Float32Array.of(1, 2) });
    expect(await storage.listWeights()).toHaveLength(1);
    const raw = await openDB<RecsSchema>(name);
    expect(await raw.get('meta', 'schemaVersion')).toBe(DB_VERSION);
    expect(await raw.getAllFromIndex('events', 'by-kind', 'like')).toHaveLength(63);
    raw.close();
  });
});

describe('history control', () => {
  it('deletes single events and a time range', async () => {
    const storage = await open(freshName());
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push((await storage.appendEvent({ kind: 'click', itemId: String(i), at: i * 100 })).id);
    await storage.deleteEvents([ids[0]!]);
    expect(await storage.deleteEventsBetween(300, 600)).toBe(4);
    expect((await storage.listEvents()).events.map((e) => e.at)).toEqual([100, 200, 700, 800, 900]);
  });

  it('merges an import without duplicating events already present', async () => {
    const storage = await open(freshName());
    await storage.appendEvent({ kind: 'like', itemId: 'a', at: 1 });
    const added = await storage.importData({
      events: [
        { kind: 'like', itemId: 'a', at: 1 },
        { kind: 'like', itemId: 'b', at: 2 },
        { kind: 'like', itemId: 'b', at: 2 },
      ],
      weights: [],
      settings: { theme: 'dark' },
    });
    expect(added).toBe(1);
    expect((await storage.listEvents()).events.map((e) => e.itemId)).toEqual(['a', 'b']);
    expect(await storage.getSettings()).toEqual({ theme: 'dark' });
  });

  it('reports sizes per store, and erasing deletes everything', async () => {
    const name = freshName();
    const storage = await open(name);
    await storage.appendEvent({ kind: 'like', itemId: 'a', at: 1 });
    await storage.putEmbeddings([{ modelId: 'm', textHash: 'h', vector: new Float32Array(8) }]);
    const sizes = await storage.sizes();
    expect(sizes.events.count).toBe(1);
    expect(sizes.embeddings).toEqual({ count: 1, bytes: 8 + 4 + 16 });
    storage.close();
    await deleteDatabase(name);
    const fresh = await open(name);
    expect((await fresh.listEvents()).events).toEqual([]);
  });
});

describe('a database the browser closes while it is open (eviction, "Clear site data")', () => {
  it('fails each read in flight with its own error and leaves no unhandled rejection behind', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = await open(freshName());
      await store.appendEvent({ kind: 'like', itemId: 'a', at: 1 });
      // The browser aborts every transaction of a connection it closes: here each one, once its requests are placed.
      const connection = unwrap((store as unknown as { db: IDBPDatabase<RecsSchema> }).db);
      const transaction = connection.transaction.bind(connection);
      connection.transaction = ((...args: Parameters<IDBDatabase['transaction']>) => {
        const tx = transaction(...args);
        queueMicrotask(() => tx.abort());
        return tx;
      }) as IDBDatabase['transaction'];
      const reads = [store.listEvents(), store.listWeights(), store.sizes(), store.getSettings(), store.embeddingUsageByModel()].map((read) =>
        read.then(
          () => 'read',
          (error: unknown) => (error as { name?: string }).name,
        ),
      );
      expect(await Promise.all(reads)).toEqual(['AbortError', 'AbortError', 'AbortError', 'AbortError', 'AbortError']);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
