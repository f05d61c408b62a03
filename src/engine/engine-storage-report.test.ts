import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../core/catalog';
import { decodeColumns, encodeColumns } from '../core/catalog-columns';
import { encodeRowShard } from '../core/catalog-rows';
import { columnsDirectory, keepColumns } from '../storage/opfs-columns';
import { listMemoryFiles } from '../storage/opfs-listing';
import { memoryDirectory } from '../storage/opfs-vectors';
import { CatalogRowFiles } from '../storage/opfs-vectors-rows';
import { keptCatalogUsage, storedTexts, type ScaleStorage } from './scale-files';
import { SIX_BOOKS, startTestEngine, testCatalog, type TestItem } from './testing/harness';

const columnsUrl = '/shop.columns';
const items: TestItem[] = Array.from({ length: 25 }, (_, i) => ({ id: `b${i}`, title: `Book number ${i}`, popularity: i }));

/** OPFS in memory: a map of files per directory path, listed as the worker lists OPFS (storage/opfs-listing.ts). */
function memoryOpfs(): ScaleStorage & { dirs: Map<string, Map<string, Uint8Array>> } {
  const dirs = new Map<string, Map<string, Uint8Array>>();
  const files = (path: readonly string[]) => {
    const key = path.join('/');
    if (!dirs.has(key)) dirs.set(key, new Map());
    return dirs.get(key)!;
  };
  return {
    dirs,
    directory: async (path) => memoryDirectory(files(path)),
    // As removeOpfsDirectory(['vectors']): every directory under `vectors/`.
    removeAll: async () => {
      for (const key of [...dirs.keys()]) if (key === 'vectors' || key.startsWith('vectors/')) dirs.delete(key);
    },
    listFiles: async (path) => listMemoryFiles(dirs.get(path.join('/')) ?? new Map()),
  };
}

/** The columns of `items` kept on the device, as a first visit of a columns catalog keeps them (catalog-scale.ts); their file's length. */
async function keepColumnsOf(storage: ScaleStorage, list: readonly TestItem[], rowShardItems = 10): Promise<number> {
  const bytes = await encodeColumns({ name: 'Kept shop', rowShardItems }, parseCatalogText(testCatalog(list)).items);
  const columns = await decodeColumns(bytes);
  await keepColumns(await storage.directory(columnsDirectory), columnsUrl, [bytes], {
    payloadSha256: columns.header.payloadSha256,
    catalogFingerprint: columns.fingerprint,
    bytes: bytes.length,
  });
  return bytes.length;
}

describe("the storage report's catalog kept on the device (vectors/columns/ in OPFS)", () => {
  it('counts the kept columns (items from their header, every byte of their files), and the erase removes them', async () => {
    const storage = memoryOpfs();
    const fileBytes = await keepColumnsOf(storage, items);
    // The columns file and its record (a few hundred bytes of JSON).
    const kept = [...storage.dirs.get(columnsDirectory.join('/'))!.values()];
    expect(kept.map((file) => file.length)).toContain(fileBytes);
    const onDisk = kept.reduce((sum, file) => sum + file.length, 0);
    const engine = await startTestEngine(SIX_BOOKS, { overrides: { scaleStorage: storage } });
    const report = await engine.engine.storageReport();
    expect(report.keptCatalog).toEqual({ count: items.length, bytes: onDisk });
    expect(onDisk).toBeGreaterThan(fileBytes);
    // A small catalog: no vectors in OPFS, so no row for them.
    expect(report.vectorFiles).toBeUndefined();
    await engine.engine.eraseAll();
    expect([...storage.dirs.keys()].filter((key) => key.startsWith('vectors'))).toEqual([]);
    expect((await engine.engine.storageReport()).keptCatalog).toBeUndefined();
  });

  it('has no row where nothing is kept, or where the storage cannot list its files', async () => {
    const storage = memoryOpfs();
    const engine = await startTestEngine(SIX_BOOKS, { overrides: { scaleStorage: storage } });
    expect((await engine.engine.storageReport()).keptCatalog).toBeUndefined();
    const { listFiles: _unused, ...unlisted } = storage;
    await keepColumnsOf(unlisted, items);
    expect(await keptCatalogUsage(unlisted)).toBeUndefined();
    expect((await keptCatalogUsage(storage))?.count).toBe(items.length);
  });

  it('counts the bytes of a kept file whose header does not check, with no items', async () => {
    const storage = memoryOpfs();
    const fileBytes = await keepColumnsOf(storage, items);
    const dir = storage.dirs.get(columnsDirectory.join('/'))!;
    const name = [...dir.keys()].find((key) => key.endsWith('.bin'))!;
    const damaged = dir.get(name)!.slice();
    damaged[0] = 0; // not the columns' magic bytes
    dir.set(name, damaged);
    const usage = await keptCatalogUsage(storage);
    expect(usage?.count).toBe(0);
    expect(usage?.bytes).toBeGreaterThan(fileBytes);
  });

  it("counts a columns catalog's stored row shards (its texts): their items and bytes", async () => {
    const parsed = parseCatalogText(testCatalog(items)).items;
    const columns = await decodeColumns(await encodeColumns({ name: 'Kept shop', rowShardItems: 10 }, parsed));
    const { store } = await CatalogRowFiles.open(memoryDirectory(), columns);
    expect(storedTexts(store)).toEqual({ count: 0, bytes: 0 });
    // Shards of 10, 10 and 5 items: the last and the first stored.
    const last = await encodeRowShard(columns, 2, parsed.slice(20));
    await store.store(2, last);
    expect(storedTexts(store)).toEqual({ count: 5, bytes: last.length });
    const first = await encodeRowShard(columns, 0, parsed.slice(0, 10));
    await store.store(0, first);
    expect(storedTexts(store)).toEqual({ count: 15, bytes: last.length + first.length });
  });
});
