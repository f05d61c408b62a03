import { describe, expect, it } from 'vitest';
import { memoryDirectory, partName, VectorStore, type VectorIdentity } from './opfs-vectors';

const identity: VectorIdentity = { modelId: 'm', catalogFingerprint: 'fp1', totalItems: 10, dimension: 4 };

function rows(first: number, n: number, dim = 4): { codes: Int8Array; scales: Float32Array } {
  const codes = Int8Array.from({ length: n * dim }, (_, k) => ((first * dim + k) % 250) - 125);
  const scales = Float32Array.from({ length: n }, (_, r) => 0.01 * (first + r + 1));
  return { codes, scales };
}

describe('VectorStore', () => {
  it('writes rows where they belong and reads the candidates back, in the order asked', async () => {
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, identity);
    expect(store.rebuilt).toBe('new');
    const a = rows(0, 5);
    const b = rows(5, 5);
    store.writeRows(5, b.codes, b.scales);
    store.writeRows(0, a.codes, a.scales);
    const codes = new Int8Array(3 * 4);
    const scales = new Float32Array(3);
    store.readRows([7, 0, 4], codes, scales);
    expect(Array.from(scales)).toEqual([b.scales[2]!, a.scales[0]!, a.scales[4]!]);
    expect(Array.from(codes.subarray(0, 4))).toEqual(Array.from(b.codes.subarray(8, 12)));
    expect(Array.from(codes.subarray(4, 8))).toEqual(Array.from(a.codes.subarray(0, 4)));
    expect(() => store.readRows([10], codes, scales)).toThrow(/outside/);
    expect(store.bytes).toBe(10 * (4 + 4));
    store.close();
  });

  it('keeps complete shards and the partial download across a reopen', async () => {
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, identity);
    const a = rows(0, 5);
    store.writeRows(0, a.codes, a.scales);
    store.markDone(0);
    store.setPartial({ shard: 1, bytes: 123, validator: '"v1"' });
    store.close();
    const again = await VectorStore.open(dir, identity);
    expect(again.rebuilt).toBeUndefined();
    expect([...again.done]).toEqual([0]);
    expect(again.partial).toEqual({ shard: 1, bytes: 123, validator: '"v1"' });
    const codes = new Int8Array(4);
    const scales = new Float32Array(1);
    again.readRows([3], codes, scales);
    expect(scales[0]).toBe(a.scales[3]);
    again.close();
  });

  it('starts again when the rows were evicted, for another catalog, or the ledger is damaged: never keeps a stale row', async () => {
    const dir = memoryDirectory();
    const store = await VectorStore.open(dir, identity);
    store.writeRows(0, rows(0, 5).codes, rows(0, 5).scales);
    store.markDone(0);
    store.setPartial({ shard: 1, bytes: 10 });
    store.close();
    dir.files.set(partName(1), new Uint8Array(10));

    // The browser evicted the rows file (the ledger survived).
    dir.files.delete('rows.bin');
    const evicted = await VectorStore.open(dir, identity);
    expect(evicted.rebuilt).toBe('evicted');
    expect([...evicted.done]).toEqual([]);
    expect(evicted.partial).toBeUndefined();
    expect(dir.files.has(partName(1))).toBe(false);
    evicted.writeRows(0, rows(0, 5).codes, rows(0, 5).scales);
    evicted.markDone(0);
    evicted.close();

    const other = await VectorStore.open(dir, { ...identity, catalogFingerprint: 'fp2' });
    expect(other.rebuilt).toBe('other-catalog');
    const codes = new Int8Array(4);
    const scales = new Float32Array(1);
    other.readRows([0], codes, scales);
    expect(scales[0]).toBe(0);
    expect(Array.from(codes)).toEqual([0, 0, 0, 0]);
    other.close();

    dir.files.set('ledger.json', new TextEncoder().encode('{"version":1,'));
    const damaged = await VectorStore.open(dir, identity);
    expect(damaged.rebuilt).toBe('damaged');
    damaged.close();
  });

  it('touches only its own directory', async () => {
    const files = new Map<string, Uint8Array>([['history-elsewhere', Uint8Array.of(1, 2, 3)]]);
    const dir = memoryDirectory(files);
    const store = await VectorStore.open(dir, identity);
    store.close();
    const rebuilt = await VectorStore.open(dir, { ...identity, modelId: 'other' });
    rebuilt.close();
    expect(Array.from(files.get('history-elsewhere')!)).toEqual([1, 2, 3]);
  });
});
