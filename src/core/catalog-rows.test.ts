import { describe, expect, it } from 'vitest';
import type { CatalogItem } from './catalog';
import { decodeColumns, encodeColumns } from './catalog-columns';
import { columnsUrl, decodeRowShard, encodeRowShard, readRowShardLayout, rowShardUrl, RowsError, StoredRows, type RowsProblem } from './catalog-rows';
import { encoderText } from './item-text';

const PER = 4;

function items(n: number, tag = ''): CatalogItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `p${i}`,
    title: `Title ${i}`,
    text: `Title ${i} by Someone${tag}`,
    byline: 'Someone',
    ...(i % 2 ? { genres: ['fantasy'], tags: ['magic', 'school'] } : { description: `A long description of book ${i}.` }),
    popularity: i,
  }));
}

const columnsOf = async (list: CatalogItem[]) => decodeColumns(await encodeColumns({ name: 'shop', rowShardItems: PER }, list));

async function rejects(
  bytes: Uint8Array | Promise<Uint8Array>,
  columns: Awaited<ReturnType<typeof columnsOf>>,
  shard: number,
  reason: RowsProblem,
  words: RegExp,
): Promise<void> {
  const error = await decodeRowShard(await bytes, columns, shard, 'shop.rows-1.bin').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RowsError);
  expect((error as RowsError).reason).toBe(reason);
  expect((error as RowsError).message).toMatch(/^shop\.rows-1\.bin: /);
  expect((error as RowsError).message).toMatch(words);
}

describe('catalog row shards', () => {
  it('round-trip: a stored shard gives back each item whole; items of shards not stored are undefined', async () => {
    const list = items(10);
    const columns = await columnsOf(list);
    const rows = new StoredRows(columns);
    for (const shard of [0, 2]) {
      const file = await encodeRowShard(columns, shard, list.slice(shard * PER, shard * PER + PER));
      const layout = await decodeRowShard(file, columns, shard);
      expect(layout.header).toMatchObject({ shard, shards: 3, itemStart: shard * PER, itemCount: shard === 2 ? 2 : PER, totalItems: 10 });
      rows.add(layout, (offset, length) => file.subarray(offset, offset + length));
    }
    for (const i of [0, 3, 8, 9]) {
      expect(rows.item(i)).toEqual(list[i]);
      expect(rows.encoderText(i)).toBe(encoderText(list[i]!));
    }
    expect(rows.item(5)).toBeUndefined(); // shard 1 not stored
    expect(rows.item(10)).toBeUndefined();
    expect(rowShardUrl('/c/shop.json?v=2', 1)).toBe('/c/shop.rows-1.bin?v=2');
    expect(columnsUrl('/c/shop.json')).toBe('/c/shop.columns');
  });

  it('refuses each kind of damage with a reason naming it', async () => {
    const list = items(10);
    const columns = await columnsOf(list);
    const file = await encodeRowShard(columns, 1, list.slice(4, 8));
    await rejects(new Uint8Array([1, 2, 3]), columns, 1, 'not-rows', /wrong magic bytes/);
    await rejects(file.subarray(0, 9), columns, 1, 'truncated', /truncated: 9 bytes/);
    await rejects(file.subarray(0, file.length - 5), columns, 1, 'truncated', /expected/);
    await rejects(Uint8Array.from([...file, 32]), columns, 1, 'too-long', /longer than/);
    const flipped = file.slice();
    flipped[flipped.length - 10]! ^= 1;
    await rejects(flipped, columns, 1, 'bad-checksum', /SHA-256/);
    // Shard 1's file served as shard 2.
    await rejects(file, columns, 2, 'wrong-range', /it is shard 1 .*not shard 2/);
    // The shard of another version of the catalog (other ids): refused from its header.
    const other = await columnsOf(items(10).map((item, i) => (i === 0 ? { ...item, id: 'new' } : item)));
    await rejects(encodeRowShard(other, 1, list.slice(4, 8)), columns, 1, 'other-catalog', /another version of the catalog/);
    // Same ids, but a row whose text is not the one the columns hash (edited after the columns were built).
    await rejects(encodeRowShard(columns, 1, items(10, ' (edited)').slice(4, 8)), columns, 1, 'bad-values', /row 0: its text differs/);
    // Rows in the wrong order: ids differ from the columns'.
    await rejects(encodeRowShard(columns, 1, list.slice(4, 8).reverse()), columns, 1, 'bad-values', /row 0: id "p7", the columns list "p4"/);
  });

  it('a stored row damaged after it was checked is not returned (the caller falls back to the columns)', async () => {
    const list = items(8);
    const columns = await columnsOf(list);
    const file = (await encodeRowShard(columns, 0, list.slice(0, PER))).slice();
    const layout = readRowShardLayout(file, columns, 0);
    const rows = new StoredRows(columns);
    rows.add(layout, (offset, length) => file.subarray(offset, offset + length));
    expect(rows.item(1)).toEqual(list[1]);
    file[layout.rowsStart + layout.ends[0]! + 2] = 0x7b; // inside row 1's JSON
    expect(rows.item(1)).toBeUndefined();
    expect(rows.item(2)).toEqual(list[2]);
  });
});
