import { describe, expect, it } from 'vitest';
import { memoryFile } from './opfs-listing';
import { columnsDirectory, keepColumns, readKeptColumns, readKeptColumnsInParts, removeKeptColumns } from './opfs-columns';
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

describe('a kept columns file read in two parts', () => {
  // A file whose titles start at `titlesAt`: a real columns file is used by the engine's tests (catalog-scale.test.ts);
  // here the reads themselves, over a file encoded by core/catalog-columns.
  async function keptFile() {
    const { encodeColumns, decodeColumns, columnsTitlesAt, columnsHeaderEnd } = await import('../core/catalog-columns');
    const items = Array.from({ length: 30 }, (_, i) => ({ id: `i${i}`, title: `Title number ${i}`, text: `Title number ${i}` }));
    const file = await encodeColumns({ name: 'Two parts', rowShardItems: 10 }, items);
    const columns = await decodeColumns(file);
    const titlesAt = columnsTitlesAt(file.subarray(0, columnsHeaderEnd(file)!));
    const memory = memoryDirectory();
    const kept = { payloadSha256: columns.header.payloadSha256, catalogFingerprint: columns.fingerprint, bytes: file.length, itemCount: 30 };
    await keepColumns(memory, '/a.columns', [file], kept);
    const files = (name: string) => Promise.resolve(memory.files.has(name) ? memoryFile(name, memory.files.get(name)!) : undefined);
    return { file, titlesAt, memory, files };
  }

  it('reads the bytes before the titles, then the titles through a sync handle held until they are read', async () => {
    const { file, titlesAt, memory, files } = await keptFile();
    const parts = await readKeptColumnsInParts(memory, '/a.columns', files);
    if (!parts || parts === 'whole' || parts.titles instanceof Uint8Array) throw new Error(`not read in parts: ${String(parts)}`);
    expect(Array.from(parts.bytes)).toEqual(Array.from(file.subarray(0, titlesAt)));
    expect(parts.bytes.byteOffset).toBe(0);
    expect(memory.held.size).toBe(1);
    expect(new TextDecoder().decode(parts.titles.read(0, 14))).toBe('Title number 0');
    let pauses = 0;
    const whole = await parts.titles.readInSlices(
      async () => void pauses++,
      () => true,
    );
    expect(Array.from(whole!)).toEqual(Array.from(file.subarray(titlesAt)));
    expect(memory.held.size).toBe(0);
    expect(() => parts.titles instanceof Uint8Array || parts.titles.read(0, 1)).toThrow(/released/);
    // Not wanted any more (the titles were read whole meanwhile, the engine stopped): released without a read.
    const again = await readKeptColumnsInParts(memory, '/a.columns', files);
    if (!again || again === 'whole' || again.titles instanceof Uint8Array) throw new Error('not read in parts');
    expect(
      await again.titles.readInSlices(
        async () => undefined,
        () => false,
      ),
    ).toBeUndefined();
    expect(memory.held.size).toBe(0);
  });

  it('a sync handle that does not open in time: the titles read through the File now, the late handle closed', async () => {
    const { file, titlesAt, memory, files } = await keptFile();
    let late!: () => void;
    const slow = {
      ...memory,
      open: (name: string, create: boolean) =>
        name.endsWith('.bin')
          ? new Promise<Awaited<ReturnType<typeof memory.open>>>((resolve) => (late = () => resolve(memory.open(name, create))))
          : memory.open(name, create),
    };
    const parts = await readKeptColumnsInParts(slow, '/a.columns', files, 20);
    if (!parts || parts === 'whole' || !(parts.titles instanceof Uint8Array)) throw new Error('titles not read through the File');
    expect(Array.from(parts.titles)).toEqual(Array.from(file.subarray(titlesAt)));
    late();
    await expect.poll(() => memory.held.size).toBe(0);
  });

  it('none kept: undefined, nothing removed; a file not the length its record says: forgotten; a header that does not read: whole', async () => {
    const { memory, files } = await keptFile();
    expect(await readKeptColumnsInParts(memory, '/b.columns', files)).toBeUndefined();
    expect(memory.files.size).toBe(2);
    const data = [...memory.files.keys()].find((name) => name.endsWith('.bin'))!;
    const good = memory.files.get(data)!;
    memory.files.set(data, Uint8Array.of(1, 2, 3));
    expect(await readKeptColumnsInParts(memory, '/a.columns', files)).toBeUndefined();
    expect(memory.files.size).toBe(0);
    await keepColumns(memory, '/a.columns', [new Uint8Array(good.length)], { ...record, bytes: good.length });
    expect(await readKeptColumnsInParts(memory, '/a.columns', files)).toBe('whole');
    expect(memory.held.size).toBe(0);
  });
});
