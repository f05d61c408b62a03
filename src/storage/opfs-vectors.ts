/**
 * Item vectors at catalog scale in the Origin Private File System (issue 21): a million 512-d rows
 * are 516 MB as int8, more than a phone tab may hold, so they stay on disk and the index reads only its
 * candidates' rows (a few hundred per search) through a worker's synchronous access handle.
 *
 * Files, under one directory per catalog and model (`vectorDirectory`):
 *   rows.bin       count records of (float32 scale, dim int8 codes): row i at i·(4 + dim); held in memory
 *                  when small enough, else neighbouring rows read together (./opfs-vectors-read.ts)
 *   ledger.json    what the rows hold: the catalog, model and dimension they were written for, which shards
 *                  are complete, and the shard download in progress (for a ranged resume)
 *   shard-<n>.part the bytes received so far of shard n
 * Only this directory is ever written or removed here: the history (IndexedDB) is never touched, so a
 * cache that the browser evicted, or that was built for another catalog, is rebuilt from the shards.
 *
 * The file access is the subset of FileSystemSyncAccessHandle below (`SyncFile`), so Node tests run on
 * an in-memory directory (`memoryDirectory`) and the worker on OPFS (`opfsDirectory`).
 */

import type { HeldInt8Rows } from '../core/index/two-stage';
import { RowReads, ROWS_IN_MEMORY_BYTES } from './opfs-vectors-read';

/** The part of FileSystemSyncAccessHandle used here. */
export interface SyncFile {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  getSize(): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

/** A directory of sync files (OPFS in a worker, memory in tests). */
export interface SyncDirectory {
  /** The file, or undefined when it does not exist and `create` is false. Exclusive until closed. */
  open(name: string, create: boolean): Promise<SyncFile | undefined>;
  remove(name: string): Promise<void>;
  /**
   * The file's bytes, read whole by the browser off this thread (no sync handle: a sync read of 57 MB
   * holds the worker's thread, and the database's answers wait behind it); undefined when it does not exist.
   */
  readWhole?(name: string): Promise<Uint8Array<ArrayBuffer> | undefined>;
}

/** What the rows were written for: a row is meaningless under another catalog order, model or size. */
export interface VectorIdentity {
  modelId: string;
  catalogFingerprint: string;
  totalItems: number;
  dimension: number;
}

export interface PartialShard {
  shard: number;
  /** Bytes of the shard already in shard-<n>.part. */
  bytes: number;
  /** The response's ETag or Last-Modified, sent back as If-Range so a changed file restarts. */
  validator?: string;
}

export interface Ledger {
  version: 1;
  identity: VectorIdentity;
  /** Complete shards (their rows are in rows.bin). */
  done: number[];
  partial?: PartialShard;
}

const LEDGER = 'ledger.json';
const ROWS = 'rows.bin';
export const partName = (shard: number) => `shard-${shard}.part`;

function sameIdentity(a: VectorIdentity, b: VectorIdentity): boolean {
  return a.modelId === b.modelId && a.catalogFingerprint === b.catalogFingerprint && a.totalItems === b.totalItems && a.dimension === b.dimension;
}

function readAll(file: SyncFile): Uint8Array {
  const bytes = new Uint8Array(file.getSize());
  file.read(bytes, { at: 0 });
  return bytes;
}

function parseLedger(bytes: Uint8Array): Ledger | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Ledger> | null;
    const identity = value?.identity;
    if (value?.version !== 1 || !identity || !Array.isArray(value.done)) return undefined;
    if (typeof identity.modelId !== 'string' || typeof identity.catalogFingerprint !== 'string') return undefined;
    if (!Number.isInteger(identity.totalItems) || !Number.isInteger(identity.dimension)) return undefined;
    if (!value.done.every((s) => Number.isInteger(s) && s >= 0)) return undefined;
    const partial = value.partial;
    const validPartial = partial && Number.isInteger(partial.shard) && Number.isInteger(partial.bytes) && partial.bytes >= 0 ? partial : undefined;
    return {
      version: 1,
      identity,
      done: value.done,
      ...(validPartial
        ? {
            partial: {
              shard: validPartial.shard,
              bytes: validPartial.bytes,
              ...(typeof validPartial.validator === 'string' ? { validator: validPartial.validator } : {}),
            },
          }
        : {}),
    };
  } catch {
    return undefined;
  }
}

/** Why the store started again on open: undefined when it found its rows as it left them. */
export type RebuildReason = 'new' | 'other-catalog' | 'evicted' | 'damaged';

/**
 * The rows file and its ledger, open (their sync handles held) until close(). One per catalog and
 * model, in the worker that searches.
 */
export class VectorStore {
  private readonly reads: RowReads;

  private constructor(
    private readonly dir: SyncDirectory,
    private readonly rows: SyncFile,
    private ledgerFile: SyncFile,
    private ledger: Ledger,
    /** Why the rows were started again on open (the caller warns: the cache is rebuilt, history kept). */
    readonly rebuilt: RebuildReason | undefined,
  ) {
    this.reads = new RowReads(rows, 4 + ledger.identity.dimension, ledger.identity.totalItems);
  }

  get identity(): VectorIdentity {
    return this.ledger.identity;
  }
  get recordBytes(): number {
    return 4 + this.ledger.identity.dimension;
  }
  /** Complete shards. */
  get done(): ReadonlySet<number> {
    return new Set(this.ledger.done);
  }
  get partial(): PartialShard | undefined {
    return this.ledger.partial;
  }
  /** Bytes this store holds on disk (rows and any partial shard), for the Privacy panel. */
  get bytes(): number {
    return this.rows.getSize() + (this.ledger.partial?.bytes ?? 0);
  }

  /**
   * Opens (or starts) the store for `identity`. A ledger for another catalog or model, a ledger that
   * cannot be read, or a rows file shorter than its complete shards need (the browser evicted it, or a
   * write was cut) starts the rows again: `rebuilt` says which. A rows file up to `memoryBytes` (default
   * ROWS_IN_MEMORY_BYTES; 0: never) is then copied into memory in the background (`held` says when).
   */
  static async open(dir: SyncDirectory, identity: VectorIdentity, memoryBytes = ROWS_IN_MEMORY_BYTES): Promise<VectorStore> {
    const ledgerFile = (await dir.open(LEDGER, true))!;
    const rows = (await dir.open(ROWS, true))!;
    const stored = ledgerFile.getSize() > 0 ? parseLedger(readAll(ledgerFile)) : undefined;
    const record = 4 + identity.dimension;
    let rebuilt: RebuildReason | undefined;
    if (!stored) rebuilt = ledgerFile.getSize() > 0 ? 'damaged' : 'new';
    else if (!sameIdentity(stored.identity, identity)) rebuilt = 'other-catalog';
    else if (stored.done.length > 0 && rows.getSize() < identity.totalItems * record) rebuilt = 'evicted';
    const ledger: Ledger = rebuilt ? { version: 1, identity, done: [] } : stored!;
    if (rebuilt) {
      if (stored?.partial) await dir.remove(partName(stored.partial.shard)).catch(() => undefined);
      rows.truncate(0);
    }
    // The rows file at its full size from the start: a shard's rows are written where they belong.
    if (rows.getSize() !== identity.totalItems * record) rows.truncate(identity.totalItems * record);
    const store = new VectorStore(dir, rows, ledgerFile, ledger, rebuilt);
    if (rebuilt) store.saveLedger();
    store.held = store.holdMemory(memoryBytes);
    return store;
  }

  /** Resolves true once the rows are read from memory, false when they stay in OPFS (too large, or released). */
  held: Promise<boolean> = Promise.resolve(false);

  /** Copies the rows into memory (again, after releaseMemory) when the file is at most `limit` bytes: as `held`. */
  holdMemory(limit = ROWS_IN_MEMORY_BYTES): Promise<boolean> {
    return this.reads.hold(limit);
  }

  /** Bytes of rows held in memory (0 while they are read from OPFS), for the memory figures. */
  get heldBytes(): number {
    return this.reads.heldBytes;
  }

  /** The rows' copy in memory once complete (a query scores them where they lie), else undefined (read from OPFS). */
  get heldRows(): HeldInt8Rows | undefined {
    return this.reads.heldRows;
  }

  /** File reads made for readRows since open (a read serves neighbouring rows together). */
  get fileReads(): number {
    return this.reads.reads;
  }

  /** Drops the rows' copy in memory: reads go to OPFS again. */
  releaseMemory(): void {
    this.reads.release();
  }

  private saveLedger(): void {
    const bytes = new TextEncoder().encode(JSON.stringify(this.ledger));
    this.ledgerFile.truncate(0);
    this.ledgerFile.write(bytes, { at: 0 });
    this.ledgerFile.flush();
  }

  /** Writes rows [first, first + scales.length) (int8 codes row-major, one scale per row). */
  writeRows(first: number, codes: Int8Array, scales: Float32Array): void {
    const { dimension, totalItems } = this.ledger.identity;
    const n = scales.length;
    if (codes.length !== n * dimension) throw new RangeError(`${codes.length} codes do not make ${n} rows of ${dimension}`);
    if (first < 0 || first + n > totalItems) throw new RangeError(`rows ${first}…${first + n - 1} are outside the catalog's ${totalItems}`);
    const record = this.recordBytes;
    const buffer = new Uint8Array(n * record);
    const view = new DataView(buffer.buffer);
    const codeBytes = new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength);
    for (let r = 0; r < n; r++) {
      view.setFloat32(r * record, scales[r]!, true);
      buffer.set(codeBytes.subarray(r * dimension, (r + 1) * dimension), r * record + 4);
    }
    this.rows.write(buffer, { at: first * record });
    this.reads.wrote(buffer, first * record);
  }

  /**
   * Rows `items` into codes (items.length × dim) and scales, in the order given: from memory when held, else
   * one OPFS read per run of neighbouring rows. A row never written reads as zeros (scale 0: a zero vector),
   * which is what a missing vector scores.
   */
  readRows(items: readonly number[], codes: Int8Array, scales: Float32Array): void {
    this.reads.read(items, codes, scales);
  }

  /** Records shard `shard` complete (its rows written): flushes the rows first, so the ledger never runs ahead of them. */
  markDone(shard: number): void {
    this.rows.flush();
    if (!this.ledger.done.includes(shard)) this.ledger.done.push(shard);
    if (this.ledger.partial?.shard === shard) delete this.ledger.partial;
    this.saveLedger();
  }

  /** Records how far shard `shard`'s download got (its bytes are in partName(shard)). */
  setPartial(partial: PartialShard | undefined): void {
    if (partial) this.ledger.partial = partial;
    else delete this.ledger.partial;
    this.saveLedger();
  }

  /** The directory the shard downloads write their .part files into. */
  get directory(): SyncDirectory {
    return this.dir;
  }

  close(): void {
    this.reads.release();
    this.rows.flush();
    this.rows.close();
    this.ledgerFile.close();
  }
}

/** The directory of a catalog's vectors for one model: one per (catalog, model). */
export const vectorDirectory = (catalogFingerprint: string, modelId: string): string[] => [
  'vectors',
  `${catalogFingerprint}.${modelId}`.replace(/[^A-Za-z0-9._-]/g, '_'),
];

/**
 * OPFS, in a dedicated worker (createSyncAccessHandle exists only there). `path`: nested directory names.
 */
export async function opfsDirectory(path: readonly string[]): Promise<SyncDirectory> {
  let dir = await navigator.storage.getDirectory();
  for (const part of path) dir = await dir.getDirectoryHandle(part, { create: true });
  const here = dir;
  return {
    async open(name, create) {
      try {
        const handle = await here.getFileHandle(name, { create });
        // createSyncAccessHandle is in the WebWorker lib only (this project compiles against DOM).
        return await (handle as unknown as { createSyncAccessHandle(): Promise<SyncFile> }).createSyncAccessHandle();
      } catch (error) {
        if (!create && error instanceof DOMException && error.name === 'NotFoundError') return undefined;
        throw error;
      }
    },
    async remove(name) {
      await here.removeEntry(name).catch((error: unknown) => {
        if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
      });
    },
    async readWhole(name) {
      try {
        const handle = await here.getFileHandle(name);
        return new Uint8Array(await (await handle.getFile()).arrayBuffer());
      } catch (error) {
        if (error instanceof DOMException && error.name === 'NotFoundError') return undefined;
        throw error;
      }
    },
  };
}

/**
 * Removes a directory of vectors (all its rows, ledgers and partial shards); the history is elsewhere.
 * Rejects (NoModificationAllowedError) while a file in it is open, e.g. in another tab's worker.
 */
export async function removeOpfsDirectory(path: readonly string[]): Promise<void> {
  let dir = await navigator.storage.getDirectory();
  for (const part of path.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create: true });
  const last = path[path.length - 1];
  if (!last) return;
  await dir.removeEntry(last, { recursive: true }).catch((error: unknown) => {
    if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
  });
}

/** The mark an erase leaves in OPFS's root when it could not remove the vectors (`<name>.erase-pending`). */
const pendingMark = (path: readonly string[]) => `${path.join('.')}.erase-pending`;

/** Records that `path` is to be removed at the next start (an erase found it held open elsewhere). */
export async function markOpfsRemoval(path: readonly string[]): Promise<void> {
  const root = await navigator.storage.getDirectory();
  await root.getFileHandle(pendingMark(path), { create: true });
}

/** At start: removes `path` if an erase left it marked, then the mark; rejects while it is still held open. */
export async function removeMarkedOpfs(path: readonly string[]): Promise<void> {
  const root = await navigator.storage.getDirectory();
  const marked = await root.getFileHandle(pendingMark(path)).then(
    () => true,
    () => false,
  );
  if (!marked) return;
  await removeOpfsDirectory(path);
  await root.removeEntry(pendingMark(path)).catch(() => undefined);
}

/** The catalogs' vectors in OPFS, as the engine uses them (engine/scale.ts ScaleStorage). */
export const opfsVectorFiles = {
  directory: opfsDirectory,
  removeAll: () => removeOpfsDirectory(['vectors']),
  markForRemoval: () => markOpfsRemoval(['vectors']),
  removePending: () => removeMarkedOpfs(['vectors']),
};

/**
 * Files in memory with the sync-handle contract (tests; a browser without OPFS could use it too). `held`:
 * the names open now; tests pass one set to several directories to play tabs sharing OPFS.
 */
export function memoryDirectory(
  files = new Map<string, Uint8Array>(),
  held = new Set<string>(),
): SyncDirectory & { files: Map<string, Uint8Array>; held: Set<string> } {
  return {
    files,
    held,
    async open(name, create) {
      if (!files.has(name)) {
        if (!create) return undefined;
        files.set(name, new Uint8Array(0));
      }
      if (held.has(name)) throw new DOMException(`${name} is already open`, 'NoModificationAllowedError');
      held.add(name);
      const content = () => files.get(name) ?? new Uint8Array(0);
      const resize = (size: number) => {
        const next = new Uint8Array(size);
        next.set(content().subarray(0, size));
        files.set(name, next);
      };
      return {
        read(buffer, options) {
          const at = options?.at ?? 0;
          const bytes = content().subarray(at, at + buffer.length);
          buffer.set(bytes);
          return bytes.length;
        },
        write(buffer, options) {
          const at = options?.at ?? 0;
          if (at + buffer.length > content().length) resize(at + buffer.length);
          content().set(buffer, at);
          return buffer.length;
        },
        getSize: () => content().length,
        truncate: resize,
        flush() {},
        close() {
          held.delete(name);
        },
      };
    },
    async remove(name) {
      if (held.has(name)) throw new DOMException(`${name} is open`, 'NoModificationAllowedError');
      files.delete(name);
    },
  };
}
