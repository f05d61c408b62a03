import { describe, expect, it } from 'vitest';
import type { CatalogItem } from '../core/catalog';
import { decodeColumns, encodeColumns } from '../core/catalog-columns';
import { encodeRowShard, RowsError } from '../core/catalog-rows';
import { memoryDirectory } from './opfs-vectors';
import { CatalogRowFiles, rowFileName } from './opfs-vectors-rows';

const PER = 4;
const items = (n: number, prefix = 'p'): CatalogItem[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, title: `Title ${i}`, text: `Title ${i}, a story`, tags: ['tag'], popularity: i }));
const columnsOf = async (list: CatalogItem[]) => decodeColumns(await encodeColumns({ name: 'shop', rowShardItems: PER }, list));

describe('catalog row files in OPFS', () => {
  it('stores checked shards, reads rows back after a reopen, and refuses (and removes) files that no longer fit', async () => {
    const list = items(10);
    const columns = await columnsOf(list);
    const files = new Map<string, Uint8Array>();
    const { store } = await CatalogRowFiles.open(memoryDirectory(files), columns);
    for (const shard of [0, 1, 2]) await store.store(shard, await encodeRowShard(columns, shard, list.slice(shard * PER, shard * PER + PER)));
    expect(store.rows.item(9)).toEqual(list[9]);
    expect(store.bytes).toBe([...files.values()].reduce((sum, bytes) => sum + bytes.length, 0));
    // A damaged download is refused whole and nothing is written.
    const damaged = (await encodeRowShard(columns, 1, list.slice(4, 8))).slice();
    damaged[damaged.length - 2]! ^= 1;
    await expect(store.store(1, damaged)).rejects.toBeInstanceOf(RowsError);
    expect(store.rows.item(5)).toEqual(list[5]);
    store.close();

    // A new visit: the rows read from the files; shard 2's file cut short (an eviction) is refused and removed.
    files.set(rowFileName(2), files.get(rowFileName(2))!.subarray(0, files.get(rowFileName(2))!.length - 3));
    const reopened = await CatalogRowFiles.open(memoryDirectory(files), columns);
    expect(reopened.refused).toEqual([{ shard: 2, message: expect.stringMatching(/catalog-rows-2\.bin: .* bytes stored/) }]);
    expect(files.has(rowFileName(2))).toBe(false);
    expect(reopened.store.rows.item(0)).toEqual(list[0]);
    expect(reopened.store.rows.item(6)).toEqual(list[6]);
    expect(reopened.store.rows.item(8)).toBeUndefined();
    reopened.store.close();

    // Another version of the catalog (other ids): every stored file is refused as built for another catalog.
    const other = await CatalogRowFiles.open(memoryDirectory(files), await columnsOf(items(10, 'q')));
    expect(other.refused.map((r) => r.shard)).toEqual([0, 1]);
    expect(other.refused[0]!.message).toMatch(/another version of the catalog/);
    expect(files.size).toBe(0);
  });

  it('fails to open when another tab holds one of the files, and leaves none of the others held', async () => {
    const list = items(10);
    const columns = await columnsOf(list);
    const files = new Map<string, Uint8Array>();
    const { store } = await CatalogRowFiles.open(memoryDirectory(files), columns);
    for (const shard of [0, 1, 2]) await store.store(shard, await encodeRowShard(columns, shard, list.slice(shard * PER, shard * PER + PER)));
    store.close();
    // The other tab's handle on shard 1 (sync handles are exclusive).
    const held = new Set([rowFileName(1)]);
    await expect(CatalogRowFiles.open(memoryDirectory(files, held), columns)).rejects.toThrow(/already open/);
    expect([...held]).toEqual([rowFileName(1)]);
    // Released there: this tab opens every file.
    held.clear();
    const reopened = await CatalogRowFiles.open(memoryDirectory(files, held), columns);
    expect(reopened.refused).toEqual([]);
    expect(reopened.store.rows.item(9)).toEqual(list[9]);
    reopened.store.close();
    expect(held.size).toBe(0);
  });
});
