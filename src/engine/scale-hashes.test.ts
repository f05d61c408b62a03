import { describe, expect, it } from 'vitest';
import type { CatalogItem } from '../core/catalog';
import { decodeColumns, encodeColumns } from '../core/catalog-columns';
import { CatalogIndex } from '../core/catalog-index';
import { memoryDirectory } from '../storage/opfs-vectors';
import { ColumnsCatalog } from './catalog-scale';
import { hashBytes, HASHES_FILE, staleRows } from './scale-hashes';

const items: CatalogItem[] = Array.from({ length: 12 }, (_, i) => ({ id: `b${i}`, title: `Book ${i}`, text: `Book ${i}, a story`, popularity: i }));

/** A hashes file holding every item's current hash but the first byte of item 3's, the last byte of item 7's and item 11's. */
async function hashesFile(hashOf: (i: number) => string) {
  const bytes = new Uint8Array(8 * (items.length - 1));
  for (let i = 0; i < items.length - 1; i++) hashBytes(hashOf(i), bytes, 8 * i);
  bytes[8 * 3]! ^= 0x80;
  bytes[8 * 7 + 7]! ^= 0x01;
  const dir = memoryDirectory(new Map([[HASHES_FILE, bytes]]));
  return (await dir.open(HASHES_FILE, true))!;
}

const staleItems = (stale: Uint8Array) => [...stale.keys()].filter((i) => stale[i] === 1);

describe('staleRows', () => {
  it("marks exactly the rows whose stored hash is not the item's, a columns catalog compared a word at a time", async () => {
    const columns = new ColumnsCatalog(await decodeColumns(await encodeColumns({ name: 'shop', rowShardItems: 4 }, items)));
    const file = await hashesFile((i) => columns.textHash(i));
    expect(staleItems(staleRows(columns, file, false))).toEqual([3, 7, 11]);
    // The file is sized to the catalog (item 11's hash is zeros, not a stored row).
    expect(file.getSize()).toBe(8 * items.length);
    expect(staleItems(staleRows(columns, file, true))).toEqual([...items.keys()]);
  });

  it('the same for a catalog held whole (its hashes as strings)', async () => {
    const whole = new CatalogIndex(items);
    expect(staleItems(staleRows(whole, await hashesFile((i) => whole.hashes[i]!), false))).toEqual([3, 7, 11]);
  });
});
