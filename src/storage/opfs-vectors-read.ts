/**
 * How a VectorStore (./opfs-vectors.ts) reads its candidates' rows (issue 21: a query's stage two).
 *
 * A synchronous OPFS read costs ~10–18 µs in Chromium's worker whatever its size up to a few KiB (docs/scale.md,
 * "Stop 36: the query's time"), so 500 rows read one by one were 5.5 ms of an 8.8 ms query at 100,000 items. Two
 * ways to fewer reads, both giving the same bytes as a read per row (tested):
 *  - a rows file up to `ROWS_IN_MEMORY_BYTES` is copied into memory once (`hold`, in slices between which the
 *    worker answers other messages) and kept in step with every write: at 100,000 × 512-d it is 49.2 MiB, and
 *    a query's rows are copies from memory; at 1,000,000 (492 MiB) the rows stay in OPFS;
 *  - otherwise rows close to each other in the file are read together (`GAP_BYTES` apart at most, a read of
 *    `RUN_BYTES` at most), in ascending file order.
 */
import type { HeldInt8Rows } from '../core/index/two-stage';

/** The read of a sync file (./opfs-vectors.ts SyncFile), all a RowReads needs. */
interface ReadableFile {
  read(buffer: Uint8Array, options?: { at?: number }): number;
}

/** The largest rows file held in memory: 100,000 rows of 512-d (49.2 MiB) are, a million (492 MiB) are not. */
export const ROWS_IN_MEMORY_BYTES = 64 * 1024 * 1024;
/** Rows this close (the bytes between one row's end and the next's start) are read in one call. */
export const GAP_BYTES = 4096;
/** The longest single read of neighbouring rows. */
export const RUN_BYTES = 64 * 1024;
/** The copy into memory reads this much per slice, then yields (the worker's other messages wait at most one slice). */
const HOLD_SLICE_BYTES = 4 * 1024 * 1024;

export class RowReads {
  /** The rows file's copy while it is being filled or once filled; undefined when not held. */
  private copy: Uint8Array | undefined;
  private filled = false;
  private filling: Promise<boolean> | undefined;
  private buffer = new Uint8Array(0);
  private order = new Int32Array(0);
  /** File reads made by `read` since the store opened (the bench counts them). */
  reads = 0;

  constructor(
    private readonly file: ReadableFile,
    private readonly record: number,
    private readonly totalItems: number,
  ) {}

  /** Bytes held in memory for the rows (0 until the copy is complete, and when the file is too large). */
  get heldBytes(): number {
    return this.filled ? this.copy!.byteLength : 0;
  }

  /** The rows file's copy once complete (a query scores the rows where they lie, two-stage.ts heldInt8Scorer), else undefined. */
  get heldRows(): HeldInt8Rows | undefined {
    return this.filled ? { bytes: this.copy!, record: this.record } : undefined;
  }

  /**
   * Copies the rows file into memory when it is at most `limit` bytes; resolves true once reads come from
   * memory, false when it is larger (or the copy was released or failed: the rows are read from OPFS).
   */
  hold(limit = ROWS_IN_MEMORY_BYTES): Promise<boolean> {
    const size = this.totalItems * this.record;
    if (size > limit) return Promise.resolve(false);
    this.filling ??= this.fill(size);
    return this.filling;
  }

  private async fill(size: number): Promise<boolean> {
    let copy: Uint8Array | undefined;
    try {
      copy = new Uint8Array(size);
      this.copy = copy;
      for (let at = 0; at < size; at += HOLD_SLICE_BYTES) {
        const slice = copy.subarray(at, Math.min(size, at + HOLD_SLICE_BYTES));
        const read = this.file.read(slice, { at });
        if (read < slice.length) slice.fill(0, read);
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (this.copy !== copy) return false;
      }
      this.filled = true;
      return true;
    } catch {
      // Memory refused, or the file failed: the rows are read from OPFS.
      if (this.copy === copy) this.release();
      return false;
    }
  }

  /** Drops the copy (reads go to OPFS again). */
  release(): void {
    this.copy = undefined;
    this.filled = false;
    this.filling = undefined;
  }

  /** Keeps the copy in step with a write of `bytes` at byte `at` of the file (also while it is being filled). */
  wrote(bytes: Uint8Array, at: number): void {
    this.copy?.set(bytes, at);
  }

  /** Rows `items` (any order, repeats allowed) into codes (items.length × dimension) and scales; a row never written is zeros. */
  read(items: readonly number[], codes: Int8Array, scales: Float32Array): void {
    const record = this.record;
    const dimension = record - 4;
    const n = items.length;
    if (codes.length < n * dimension || scales.length < n) throw new RangeError(`buffers too small for ${n} rows`);
    for (let c = 0; c < n; c++) {
      const item = items[c]!;
      if (!(Number.isInteger(item) && item >= 0 && item < this.totalItems)) throw new RangeError(`row ${item} is outside the catalog's ${this.totalItems}`);
    }
    const codeBytes = new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength);
    if (this.filled) {
      const copy = this.copy!;
      const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
      for (let c = 0; c < n; c++) {
        const at = items[c]! * record;
        scales[c] = view.getFloat32(at, true);
        codeBytes.set(copy.subarray(at + 4, at + record), c * dimension);
      }
      return;
    }
    const order = this.ascendingOrder(items);
    let start = 0;
    while (start < n) {
      // A run: the rows after order[start] whose gap to the previous one is at most GAP_BYTES, within RUN_BYTES.
      const first = items[order[start]!]!;
      let end = start + 1;
      while (end < n) {
        const next = items[order[end]!]!;
        const previous = items[order[end - 1]!]!;
        if ((next - previous - 1) * record > GAP_BYTES || (next - first + 1) * record > RUN_BYTES) break;
        end++;
      }
      const span = (items[order[end - 1]!]! - first + 1) * record;
      if (this.buffer.length < span) this.buffer = new Uint8Array(Math.max(span, record));
      const bytes = this.buffer.subarray(0, span);
      const read = this.file.read(bytes, { at: first * record });
      this.reads++;
      if (read < span) bytes.fill(0, read);
      const view = new DataView(bytes.buffer, bytes.byteOffset, span);
      for (let r = start; r < end; r++) {
        const c = order[r]!;
        const at = (items[c]! - first) * record;
        scales[c] = view.getFloat32(at, true);
        codeBytes.set(bytes.subarray(at + 4, at + record), c * dimension);
      }
      start = end;
    }
  }

  /** The places of `items` in ascending item order (a reused buffer; the identity when they already ascend). */
  private ascendingOrder(items: readonly number[]): Int32Array {
    const n = items.length;
    if (this.order.length < n) this.order = new Int32Array(Math.max(n, 2 * this.order.length));
    const order = this.order.subarray(0, n);
    let ascending = true;
    for (let c = 0; c < n; c++) {
      order[c] = c;
      if (c > 0 && items[c - 1]! > items[c]!) ascending = false;
    }
    if (!ascending) order.sort((a, b) => items[a]! - items[b]! || a - b);
    return order;
  }
}
