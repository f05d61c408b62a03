import { describe, expect, it } from 'vitest';
import { bytesHash, IdTable } from './catalog-columns-ids';

const utf8 = new TextEncoder();

/** The ids' blob and ends as a columns file lays them out. */
function laidOut(ids: readonly string[]): { blob: Uint8Array; ends: Uint32Array } {
  const parts = ids.map((id) => utf8.encode(id));
  const blob = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  const ends = new Uint32Array(ids.length);
  let at = 0;
  parts.forEach((part, i) => {
    blob.set(part, at);
    ends[i] = at += part.length;
  });
  return { blob, ends };
}

const find = (table: IdTable, id: string) => table.find(utf8.encode(id));

describe('IdTable', () => {
  // Two ids with the same 32-bit FNV-1a hash (found by search): the table must tell them apart by their bytes.
  const colliding = ['id-149599', 'id-312382'];

  it('finds every id by its bytes, ids with equal hashes too, and nothing else', () => {
    expect(bytesHash(utf8.encode(colliding[0]!), 0, 9)).toBe(bytesHash(utf8.encode(colliding[1]!), 0, 9));
    const ids = [...Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? `é-${i} ünï` : `item-${(i * 7919) % 100_000}`)), ...colliding];
    const { table, duplicate } = IdTable.build(laidOut(ids).blob, laidOut(ids).ends);
    expect(duplicate).toBeUndefined();
    ids.forEach((id, i) => expect(find(table, id)).toBe(i));
    for (const absent of ['', 'item-', 'item-00', 'é-0 ünïx', 'id-149598', 'ID-149599']) expect(find(table, absent)).toBeUndefined();
    expect(table.bytes).toBe(8 * ids.length);
  });

  it('names the first item whose id an earlier item has, equal hashes or not', () => {
    const ids = ['a', 'b', ...colliding, 'c', 'b', 'a', colliding[1]!];
    expect(IdTable.build(laidOut(ids).blob, laidOut(ids).ends).duplicate).toBe(5);
    const collide = ['x', ...colliding, 'y', colliding[1]!, 'x'];
    expect(IdTable.build(laidOut(collide).blob, laidOut(collide).ends).duplicate).toBe(4);
    // The id equal to the first of a run of equal hashes, not to the one just before it.
    const apart = [...colliding, colliding[0]!];
    expect(IdTable.build(laidOut(apart).blob, laidOut(apart).ends).duplicate).toBe(2);
    expect(IdTable.build(laidOut(colliding).blob, laidOut(colliding).ends).duplicate).toBeUndefined();
  });

  it('an empty catalog finds nothing', () => {
    const { table, duplicate } = IdTable.build(new Uint8Array(0), new Uint32Array(0));
    expect(duplicate).toBeUndefined();
    expect(find(table, 'a')).toBeUndefined();
  });
});
