import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { IndexedDbStore, type OpenOptions, type RecsStore, type StoredEvent } from './db';
import { FallbackStore, MEMORY_NOTICES, openOrMemory, type MemoryReason } from './fallback';
import { MemoryStorage } from './memory';
import { SIX_BOOKS, startTestEngine } from '../engine/testing/harness';

const denied = () => new DOMException('The user denied permission to access the database.', 'UnknownError');
let counter = 0;
const freshName = (label: string) => `fallback-${label}-${++counter}-${Date.now()}`;

function hooks(events: StoredEvent[] = []) {
  const switches: MemoryReason[] = [];
  return { switches, onMemory: (reason: MemoryReason) => void switches.push(reason), recoverEvents: () => events };
}

describe('MemoryStorage', () => {
  it('keeps events with increasing ids, deletes by id and by time, and imports without duplicates', async () => {
    const store = new MemoryStorage();
    const a = await store.appendEvent({ kind: 'like', itemId: 'a', at: 1000 });
    const b = await store.appendEvent({ kind: 'click', itemId: 'b', at: 2000 });
    await store.appendEvent({ kind: 'view', itemId: 'c', at: 3000 });
    expect([a.id, b.id]).toEqual([1, 2]);
    await store.deleteEvents([a.id]);
    expect(await store.deleteEventsBetween(2500, 3500)).toBe(1);
    expect((await store.listEvents()).events.map((e) => e.itemId)).toEqual(['b']);
    const added = await store.importData({
      events: [
        { kind: 'click', itemId: 'b', at: 2000 },
        { kind: 'like', itemId: 'd', at: 500 },
      ],
      weights: [],
      settings: { x: 1 },
    });
    expect(added).toBe(1);
    expect((await store.listEvents()).events.map((e) => `${e.id}:${e.itemId}`)).toEqual(['2:b', '4:d']);
    expect(await store.getSettings()).toEqual({ x: 1 });
  });

  it('goes on from the ids it was seeded with', async () => {
    const store = new MemoryStorage({ events: [{ id: 7, kind: 'like', itemId: 'a', at: 1 }] });
    expect((await store.appendEvent({ kind: 'like', itemId: 'b', at: 2 })).id).toBe(8);
  });

  it('reads vectors back exactly as IndexedDB does (int8, one scale per row)', async () => {
    const store = new MemoryStorage();
    const vector = Float32Array.from([0.1, -0.7, 0.3, 0.05]);
    await store.putEmbeddings([{ modelId: 'm', textHash: 'h1', vector }]);
    expect((await store.getEmbeddings('m', ['h1', 'missing'])).get('h1')).toEqual(IndexedDbStore.asCached(vector));
    expect((await store.readEmbeddings('m')).size).toBe(1);
    expect((await store.embeddingUsageByModel()).get('m')?.count).toBe(1);
    expect(await store.deleteEmbeddingsOf(['m'])).toMatchObject({ count: 1 });
    expect((await store.readEmbeddings('m')).size).toBe(0);
    expect((await store.sizes()).embeddings.count).toBe(0);
  });
});

describe('openOrMemory', () => {
  it('gives memory, and says why, when the browser refuses the database', async () => {
    const seen = hooks();
    const store = await openOrMemory(async () => Promise.reject(denied()), {}, seen);
    expect(store.memoryReason).toBe('unavailable');
    expect(seen.switches).toEqual(['unavailable']);
    await store.appendEvent({ kind: 'like', itemId: 'a', at: 1 });
    expect((await store.listEvents()).events).toHaveLength(1);
  });

  it('gives memory when another tab blocks the upgrade too long, and closes the database if it opens later', async () => {
    const seen = hooks();
    let finish!: (store: RecsStore) => void;
    const late = new MemoryStorage();
    const close = vi.spyOn(late, 'close');
    const open = (options: OpenOptions) => {
      options.onBlocked?.();
      return new Promise<RecsStore>((resolve) => (finish = resolve));
    };
    const store = await openOrMemory(open, {}, seen, { blockedMs: 20 });
    expect(store.memoryReason).toBe('blocked');
    finish(late);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(close).toHaveBeenCalled();
  });

  it('gives memory when the open never answers', async () => {
    const seen = hooks();
    const store = await openOrMemory(() => new Promise<RecsStore>(() => {}), {}, seen, { openMs: 20 });
    expect(store.memoryReason).toBe('unavailable');
    expect(seen.switches).toEqual(['unavailable']);
  });

  it('uses IndexedDB when it opens', async () => {
    const store = await openOrMemory((options) => IndexedDbStore.open(freshName('ok'), options), {}, hooks());
    expect(store.memoryReason).toBeUndefined();
    store.close();
  });
});

describe('FallbackStore', () => {
  it('goes on in memory when the database is closed under it, seeded with the engine history, and deletes nothing stored', async () => {
    const name = freshName('lost');
    const database = await IndexedDbStore.open(name);
    const first = await database.appendEvent({ kind: 'like', itemId: 'a', at: 1000 });
    const seen = hooks([first]);
    const store = new FallbackStore(database, undefined, seen);
    database.close(); // as the browser does on eviction: the next transaction throws InvalidStateError
    const second = await store.appendEvent({ kind: 'like', itemId: 'b', at: 2000 });
    expect(seen.switches).toEqual(['lost']);
    expect(store.memoryReason).toBe('lost');
    expect(second.id).toBeGreaterThan(first.id);
    expect((await store.listEvents()).events.map((e) => e.itemId)).toEqual(['a', 'b']);
    // The database still holds what it held.
    const reopened = await IndexedDbStore.open(name);
    expect((await reopened.listEvents()).events.map((e) => e.itemId)).toEqual(['a']);
    reopened.close();
  });

  it('switches once when several writes fail together, and every one of them lands in memory', async () => {
    const database = await IndexedDbStore.open(freshName('together'));
    const seen = hooks();
    const store = new FallbackStore(database, undefined, seen);
    database.close();
    const written = await Promise.all(['a', 'b', 'c'].map((itemId, i) => store.appendEvent({ kind: 'click', itemId, at: 1000 + i })));
    expect(seen.switches).toEqual(['lost']);
    expect(new Set(written.map((e) => e.id)).size).toBe(3);
    expect((await store.listEvents()).events.map((e) => e.itemId).sort()).toEqual(['a', 'b', 'c']);
  });

  it('keeps in memory on request (quota), seeded with what the database still reads', async () => {
    const database = await IndexedDbStore.open(freshName('quota'));
    await database.appendEvent({ kind: 'like', itemId: 'a', at: 1000 });
    await database.putSettings({ 'some.setting': 3 });
    const seen = hooks();
    const store = new FallbackStore(database, undefined, seen);
    await store.keepInMemory('quota');
    await store.appendEvent({ kind: 'click', itemId: 'b', at: 2000 });
    expect((await store.listEvents()).events.map((e) => e.itemId)).toEqual(['a', 'b']);
    expect(await store.getSettings()).toEqual({ 'some.setting': 3 });
    expect(seen.switches).toEqual(['quota']);
  });

  it('passes other errors through: a bad request is not a lost database', async () => {
    const database = await IndexedDbStore.open(freshName('other'));
    const store = new FallbackStore(database, undefined, hooks());
    await expect(
      store.putEmbeddings([
        { modelId: 'm', textHash: 'a', vector: new Float32Array(2) },
        { modelId: 'm', textHash: 'b', vector: new Float32Array(3) },
      ]),
    ).rejects.toThrow(RangeError);
    expect(store.memoryReason).toBeUndefined();
    database.close();
  });

  it('adopt moves the visit’s records into a database that became available, without duplicates', async () => {
    const name = freshName('adopt');
    const database = await IndexedDbStore.open(name);
    await database.appendEvent({ kind: 'like', itemId: 'a', at: 1000 });
    const store = new FallbackStore(new MemoryStorage(), 'unavailable', hooks());
    await store.appendEvent({ kind: 'like', itemId: 'a', at: 1000 });
    await store.appendEvent({ kind: 'like', itemId: 'b', at: 2000 });
    expect(await store.adopt(database)).toBe(1);
    expect(store.memoryReason).toBeUndefined();
    await store.appendEvent({ kind: 'click', itemId: 'c', at: 3000 });
    const reopened = await IndexedDbStore.open(name);
    expect((await reopened.listEvents()).events.map((e) => e.itemId)).toEqual(['a', 'b', 'c']);
    reopened.close();
  });
});

describe('Engine without IndexedDB', () => {
  it('recommends from the catalog, keeps the visit’s events in memory, says so, and moves them into IndexedDB once it opens', async () => {
    let refuse = true;
    const name = freshName('engine');
    const harness = await startTestEngine(SIX_BOOKS, {
      feedSize: 4,
      overrides: { openStorage: (options) => (refuse ? Promise.reject(denied()) : IndexedDbStore.open(name, options)) },
    });
    await harness.until((s) => s.phase === 'ready' && s.feed.length === 4);
    expect(harness.latest().storage).toEqual({ persisted: false, reason: 'unavailable', notice: MEMORY_NOTICES.unavailable });
    await harness.engine.record('like', 'd1');
    await harness.engine.record('click', 'd2');
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['d2', 'd1']);
    expect(harness.latest().feed.map((f) => f.id)).not.toContain('d1');

    expect(await harness.engine.retryStorage()).toBe(false); // still refused: nothing changes
    expect(harness.latest().storage?.persisted).toBe(false);

    refuse = false;
    expect(await harness.engine.retryStorage()).toBe(true);
    expect(harness.latest().storage).toEqual({ persisted: true });
    const stored = await IndexedDbStore.open(name);
    expect((await stored.listEvents()).events.map((e) => e.itemId)).toEqual(['d1', 'd2']);
    stored.close();
    await harness.engine.record('like', 's1');
    expect((await harness.engine.history()).map((e) => e.itemId)).toEqual(['s1', 'd2', 'd1']);
  });
});
