import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { remoteStore, serveStorage } from './bridge';
import { IndexedDbStore, DB_NAME } from './db';
import { FallbackStore } from './fallback';
import { MemoryStorage } from './memory';

/** A separate IndexedDB, as a Storage Access handle's would be: the global one must stay untouched. */
async function handleFactory(): Promise<IDBFactory> {
  const { IDBFactory: Factory } = await import('fake-indexeddb');
  return new Factory();
}

describe('a store opened in the page and used from the worker (Storage Access handle)', () => {
  it('serves the database of the given IndexedDB over a port: events, settings and cached vectors cross intact', async () => {
    const factory = await handleFactory();
    const channel = new MessageChannel();
    await serveStorage(factory, channel.port1);
    const store = remoteStore(channel.port2);
    const stored = await store.appendEvent({ kind: 'like', itemId: 'a', at: 1000 });
    expect(stored.id).toBeGreaterThan(0);
    await store.putSettings({ 'some.setting': 2 });
    const vector = Float32Array.from([0.5, -0.25, 0.125]);
    await store.putEmbeddings([{ modelId: 'm', textHash: 'h', vector }]);
    const cached = await store.readEmbeddings('m');
    expect(cached.get('h')).toEqual(IndexedDbStore.asCached(vector));
    expect((await store.getEmbeddings('m')).get('h')).toEqual(IndexedDbStore.asCached(vector));
    expect((await store.listEvents()).events.map((e) => e.itemId)).toEqual(['a']);
    expect(await store.getSettings()).toEqual({ 'some.setting': 2 });
    store.close();
    channel.port1.close();
    // It went to the handle's IndexedDB, not the global one.
    expect((await indexedDB.databases()).map((d) => d.name)).not.toContain(DB_NAME);
  });

  it('a text cached in two records crosses once, as the later record has it', async () => {
    const factory = await handleFactory();
    const storage = await IndexedDbStore.open(undefined, { factory });
    await storage.putEmbeddings([
      { modelId: 'm', textHash: 'a', vector: Float32Array.from([1, 0]) },
      { modelId: 'm', textHash: 'b', vector: Float32Array.from([0, 1]) },
    ]);
    await storage.putEmbeddings([
      { modelId: 'm', textHash: 'c', vector: Float32Array.from([1, 1]) },
      { modelId: 'm', textHash: 'b', vector: Float32Array.from([-1, 0]) },
    ]);
    const local = await storage.readEmbeddings('m');
    storage.close();
    const channel = new MessageChannel();
    await serveStorage(factory, channel.port1);
    const remote = await remoteStore(channel.port2).readEmbeddings('m');
    for (const hash of ['a', 'b', 'c']) expect(remote.get(hash)).toEqual(local.get(hash));
    channel.port1.close();
  });

  it('refuses (serving nothing) when that IndexedDB refuses', async () => {
    const refusing = {
      open: () => {
        throw new DOMException('The user denied permission to access the database.', 'UnknownError');
      },
    } as unknown as IDBFactory;
    await expect(serveStorage(refusing, new MessageChannel().port1)).rejects.toThrow('denied');
  });

  it('refuses at once, without opening, where databases() is refused (Chromium, partitioning off: an open made first would never answer)', async () => {
    const opened: string[] = [];
    const refusing = {
      databases: () => Promise.reject(new DOMException('The user denied permission to access the database.', 'UnknownError')),
      open: (name: string) => (opened.push(name), {}) as IDBOpenDBRequest, // never answers
    } as unknown as IDBFactory;
    await expect(serveStorage(refusing, new MessageChannel().port1)).rejects.toMatchObject({
      name: 'UnknownError',
      message: 'The user denied permission to access the database.',
    });
    expect(opened).toEqual([]);
  });

  it('takes over from memory: the visit’s picks move into the served database', async () => {
    const factory = await handleFactory();
    const memory = new FallbackStore(new MemoryStorage(), 'unavailable', { onMemory: () => {}, recoverEvents: () => [] });
    await memory.appendEvent({ kind: 'click', itemId: 'x', at: 5 });
    const channel = new MessageChannel();
    await serveStorage(factory, channel.port1);
    expect(await memory.adopt(remoteStore(channel.port2))).toBe(1);
    const direct = await IndexedDbStore.open(undefined, { factory });
    expect((await direct.listEvents()).events.map((e) => e.itemId)).toEqual(['x']);
    direct.close();
    channel.port1.close();
  });
});
