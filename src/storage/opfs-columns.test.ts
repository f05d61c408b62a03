import { describe, expect, it } from 'vitest';
import { columnsDirectory, keepColumns, readKeptColumns, removeKeptColumns } from './opfs-columns';
import { memoryDirectory } from './opfs-vectors';

const record = { payloadSha256: 'a'.repeat(64), catalogFingerprint: '0123456789abcdef', bytes: 10 };

describe('a columns file kept in OPFS', () => {
  it('keeps the parts as one file with its record, reads it back, forgets it; one file per URL; handles closed after use', async () => {
    const dir = memoryDirectory();
    expect(columnsDirectory[0]).toBe('vectors'); // erase removes it with the vectors
    expect(await readKeptColumns(dir, '/a.columns')).toBeUndefined();
    await keepColumns(dir, '/a.columns', [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(5, 6, 7, 8, 9, 10)], record);
    await keepColumns(dir, '/b.columns', [new Uint8Array(10)], { ...record, catalogFingerprint: 'fedcba9876543210' });
    const kept = await readKeptColumns(dir, '/a.columns');
    expect(kept?.record).toEqual({ version: 1, url: '/a.columns', ...record });
    expect(Array.from(kept!.bytes)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(kept!.bytes.byteOffset).toBe(0);
    expect((await readKeptColumns(dir, '/b.columns'))?.record.catalogFingerprint).toBe('fedcba9876543210');
    expect(dir.held.size).toBe(0);
    await removeKeptColumns(dir, '/a.columns');
    expect(await readKeptColumns(dir, '/a.columns')).toBeUndefined();
    expect(dir.files.size).toBe(2);
    await expect(keepColumns(dir, '/a.columns', [new Uint8Array(9)], record)).rejects.toThrow(/9 bytes to keep, the record says 10/);
  });

  it('read whole off the thread where the directory can (OPFS): the same bytes, no sync handle on the file; cut short, forgotten', async () => {
    const memory = memoryDirectory();
    const opened: string[] = [];
    const dir = {
      ...memory,
      open: (name: string, create: boolean) => (opened.push(name), memory.open(name, create)),
      readWhole: async (name: string) => memory.files.get(name)?.slice(),
    };
    await keepColumns(dir, '/a.columns', [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(5, 6, 7, 8, 9, 10)], record);
    opened.length = 0;
    const kept = await readKeptColumns(dir, '/a.columns');
    expect(Array.from(kept!.bytes)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(opened.every((name) => name.endsWith('.json'))).toBe(true);
    const data = [...memory.files.keys()].find((name) => name.endsWith('.bin'))!;
    memory.files.set(data, new Uint8Array(6));
    expect(await readKeptColumns(dir, '/a.columns')).toBeUndefined();
    expect(memory.files.size).toBe(0);
  });

  it('a file shorter than its record (evicted, or a write cut) or a record without its file is forgotten', async () => {
    const dir = memoryDirectory();
    await keepColumns(dir, '/a.columns', [new Uint8Array(10)], record);
    const data = [...dir.files.keys()].find((name) => name.endsWith('.bin'))!;
    dir.files.set(data, new Uint8Array(6));
    expect(await readKeptColumns(dir, '/a.columns')).toBeUndefined();
    expect(dir.files.size).toBe(0);
    await keepColumns(dir, '/a.columns', [new Uint8Array(10)], record);
    dir.files.delete(data);
    expect(await readKeptColumns(dir, '/a.columns')).toBeUndefined();
    expect(dir.files.size).toBe(0);
    // A record written for another URL (the same name by a hash collision) is not taken.
    await keepColumns(dir, '/a.columns', [new Uint8Array(10)], record);
    const name = [...dir.files.keys()].find((n) => n.endsWith('.json'))!;
    dir.files.set(name, new TextEncoder().encode(JSON.stringify({ version: 1, url: '/other.columns', ...record })));
    expect(await readKeptColumns(dir, '/a.columns')).toBeUndefined();
  });

  it('the record names its items where it was kept with them; a count that is not a positive integer is left out', async () => {
    const memory = memoryDirectory();
    await keepColumns(memory, '/a.columns', [new Uint8Array(10)], record);
    // Kept before records named their items: none, and nothing invented.
    expect((await readKeptColumns(memory, '/a.columns'))?.record).toEqual({ version: 1, url: '/a.columns', ...record });
    await keepColumns(memory, '/b.columns', [new Uint8Array(10)], { ...record, itemCount: 7 });
    expect((await readKeptColumns(memory, '/b.columns'))?.record.itemCount).toBe(7);
    expect(memory.held.size).toBe(0);
    const name = [...memory.files.keys()].find((n) => n.endsWith('.json') && new TextDecoder().decode(memory.files.get(n)).includes('/b.columns'))!;
    memory.files.set(name, new TextEncoder().encode(JSON.stringify({ version: 1, url: '/b.columns', ...record, itemCount: 2.5 })));
    expect((await readKeptColumns(memory, '/b.columns'))?.record).toEqual({ version: 1, url: '/b.columns', ...record });
  });
});
