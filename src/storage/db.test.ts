import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_NAME, Storage } from './db';

let counter = 0;
const freshName = () => `${DB_NAME}-test-${++counter}`;
const opened: Storage[] = [];
afterEach(() => opened.splice(0).forEach((s) => s.close()));

async function open(name: string) {
  const storage = await Storage.open(name);
  opened.push(storage);
  return storage;
}

describe('Storage', () => {
  it('appends events with monotonic ids and lists them back', async () => {
    const storage = await open(freshName());
    const a = await storage.appendEvent({ kind: 'like', itemId: '1', at: 1000 });
    const b = await storage.appendEvent({ kind: 'dislike', itemId: '2', at: 2000 });
    expect(b.id).toBeGreaterThan(a.id);
    expect(await storage.listEvents()).toEqual([a, b]);
  });

  it('keeps events across reopening', async () => {
    const name = freshName();
    const first = await open(name);
    await first.appendEvent({ kind: 'click', itemId: '9', at: 5 });
    first.close();
    const second = await open(name);
    expect((await second.listEvents()).map((e) => e.itemId)).toEqual(['9']);
  });

  it('skips a record that fails to decode and still loads the rest', async () => {
    const name = freshName();
    const storage = await open(name);
    await storage.appendEvent({ kind: 'like', itemId: '1', at: 1 });
    const raw = await openDB(name);
    await raw.put('events', { id: 99, kind: 'teleport', itemId: 5, at: 'yesterday' });
    raw.close();
    const reopened = await open(name);
    expect((await reopened.listEvents()).map((e) => e.itemId)).toEqual(['1']);
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
