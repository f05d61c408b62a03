import { describe, expect, it } from 'vitest';
import { memoryDirectory, VectorStore, type VectorIdentity } from './opfs-vectors';
import { RowReads } from './opfs-vectors-read';

const dim = 12;
const record = 4 + dim;

function fillRows(store: VectorStore, first: number, n: number, seed: number): void {
  const codes = Int8Array.from({ length: n * dim }, (_, k) => ((k * 31 + seed * 7) % 251) - 125);
  const scales = Float32Array.from({ length: n }, (_, r) => 0.001 * (first + r + 1) + seed);
  store.writeRows(first, codes, scales);
}

/** The reference: each row read on its own from the file's bytes (zeros where never written). */
function expected(file: Uint8Array, items: readonly number[]): { codes: number[]; scales: number[] } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const codes: number[] = [];
  const scales: number[] = [];
  for (const item of items) {
    scales.push(view.getFloat32(item * record, true));
    codes.push(...new Int8Array(file.buffer, file.byteOffset + item * record + 4, dim));
  }
  return { codes, scales };
}

function read(store: VectorStore, items: readonly number[]): { codes: number[]; scales: number[] } {
  const codes = new Int8Array(items.length * dim);
  const scales = new Float32Array(items.length);
  store.readRows(items, codes, scales);
  return { codes: Array.from(codes), scales: Array.from(scales) };
}

const lists = (total: number): number[][] => {
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  return [
    [],
    [0],
    [total - 1, 0],
    [5, 6, 7, 9, 400, 401, 1500, 3000, 3001, total - 1],
    [9, 7, 7, 5, 6, 401, 400, 3000],
    Array.from({ length: 300 }, () => Math.floor(next() * total)),
    Array.from({ length: 300 }, () => Math.floor(next() * total)).sort((a, b) => a - b),
    Array.from({ length: 5000 }, (_, i) => i),
  ];
};

describe('VectorStore reads (opfs-vectors-read)', () => {
  const identity: VectorIdentity = { modelId: 'm', catalogFingerprint: 'fp', totalItems: 6000, dimension: dim };

  it('reads neighbouring rows together and gives the bytes of a read per row, in the order asked', async () => {
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, identity, 0);
    fillRows(store, 0, 4000, 1); // rows 4000… never written: zeros
    expect(await store.held).toBe(false);
    const file = dir.files.get('rows.bin')!;
    for (const items of lists(identity.totalItems)) expect(read(store, items)).toEqual(expected(file, items));
    const before = store.fileReads;
    read(store, [5, 6, 7, 9]); // one run
    expect(store.fileReads - before).toBe(1);
    read(store, [0, 1000, 5000]); // 16 KB apart: three reads
    expect(store.fileReads - before).toBe(4);
    read(
      store,
      Array.from({ length: 5000 }, (_, i) => i),
    ); // runs of at most RUN_BYTES (64 KiB = 4,096 rows of 16 B)
    expect(store.fileReads - before).toBe(6);
    expect(() => read(store, [6000])).toThrow(/outside/);
    expect(() => read(store, [-1])).toThrow(/outside/);
    store.close();
  });

  it('holds a small rows file in memory, kept in step with writes during and after the copy', async () => {
    // 300,000 rows of 16 B: 4.8 MB, more than one slice of the copy, so a write lands while it is filled.
    const big: VectorIdentity = { ...identity, totalItems: 300_000 };
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, big);
    fillRows(store, 0, 1000, 2);
    fillRows(store, 290_000, 1000, 3); // while the copy is still at its first slice
    expect(store.heldBytes).toBe(0);
    expect(await store.held).toBe(true);
    expect(store.heldBytes).toBe(300_000 * record);
    fillRows(store, 500, 1000, 4); // after it: the copy follows
    const reads = store.fileReads;
    const file = dir.files.get('rows.bin')!;
    for (const items of [...lists(big.totalItems), [0, 499, 500, 1499, 1500, 290_000, 290_999, 299_999]])
      expect(read(store, items)).toEqual(expected(file, items));
    expect(store.fileReads).toBe(reads); // all from memory
    store.releaseMemory();
    expect(store.heldBytes).toBe(0);
    const items = [3, 290_500, 700];
    expect(read(store, items)).toEqual(expected(file, items));
    expect(store.fileReads).toBe(reads + 3);
    store.close();
  });

  it("gives the held copy (the file's bytes) to score in place once complete, and nothing while rows come from OPFS", async () => {
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, identity, 0);
    fillRows(store, 0, 3000, 5);
    const file = dir.files.get('rows.bin')!;
    const reads = new RowReads(
      { read: (buffer, options) => (buffer.set(file.subarray(options?.at ?? 0, (options?.at ?? 0) + buffer.length)), buffer.length) },
      record,
      identity.totalItems,
    );
    expect(reads.heldRows).toBeUndefined();
    const filling = reads.hold();
    expect(reads.heldRows).toBeUndefined(); // not complete yet
    expect(await filling).toBe(true);
    const held = reads.heldRows!;
    expect(held.record).toBe(record);
    expect(Array.from(held.bytes)).toEqual(Array.from(file));
    const row = new Uint8Array(record).fill(3);
    reads.wrote(row, 7 * record); // a later write is in the copy too
    expect(Array.from(reads.heldRows!.bytes.subarray(7 * record, 8 * record))).toEqual(Array.from(row));
    reads.release();
    expect(reads.heldRows).toBeUndefined();
    store.close();
  });

  it('leaves a rows file larger than the limit in OPFS', async () => {
    const store = await VectorStore.open(memoryDirectory(), identity, identity.totalItems * record - 1);
    expect(await store.held).toBe(false);
    expect(store.heldBytes).toBe(0);
    store.close();
  });
});
