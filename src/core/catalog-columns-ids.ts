/**
 * The id table of a catalog held as columns (core/catalog-columns-table.ts): id → item, built on every
 * start from the ids' UTF-8 blob. The items sorted by a 32-bit hash of their id's bytes (a radix sort:
 * three passes over the array, each writing into 2,048 runs), looked up by a binary search over the
 * hashes and the bytes compared. An open-addressing table of the same size (8 MB at 1M items) took
 * 150–190 ms to fill at 1M items (a random write into 8 MB per item); this takes a fraction of it
 * (docs/scale.md, "Stop 36"). Duplicates are found as equal ids among equal hashes.
 */

const DIGIT_BITS = 11;
const DIGITS = 1 << DIGIT_BITS;

/** FNV-1a over bytes [start, end). */
export function bytesHash(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
  return h >>> 0;
}

export class IdTable {
  private constructor(
    /** Hashes in ascending order. */
    private readonly keys: Uint32Array,
    /** The item of each sorted hash (ascending item order among equal hashes). */
    private readonly items: Uint32Array,
    private readonly blob: Uint8Array,
    private readonly ends: Uint32Array,
  ) {}

  /**
   * The table over `ends.length` ids (id i is `blob[ends[i−1] .. ends[i])`, the first from 0), and the
   * first item (in item order) whose id an earlier item has too, if any.
   */
  static build(blob: Uint8Array, ends: Uint32Array): { table: IdTable; duplicate: number | undefined } {
    const n = ends.length;
    let keys = new Uint32Array(n);
    let items = new Uint32Array(n);
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = ends[i]!;
      keys[i] = bytesHash(blob, start, end);
      items[i] = i;
      start = end;
    }
    // LSD radix sort of (key, item) by key: stable, so equal keys stay in item order.
    let outKeys = new Uint32Array(n);
    let outItems = new Uint32Array(n);
    const counts = new Uint32Array(DIGITS);
    for (let shift = 0; shift < 32; shift += DIGIT_BITS) {
      counts.fill(0);
      for (let k = 0; k < n; k++) counts[(keys[k]! >>> shift) & (DIGITS - 1)]!++;
      let sum = 0;
      for (let d = 0; d < DIGITS; d++) {
        const count = counts[d]!;
        counts[d] = sum;
        sum += count;
      }
      for (let k = 0; k < n; k++) {
        const key = keys[k]!;
        const at = counts[(key >>> shift) & (DIGITS - 1)]!++;
        outKeys[at] = key;
        outItems[at] = items[k]!;
      }
      [keys, outKeys] = [outKeys, keys];
      [items, outItems] = [outItems, items];
    }
    const table = new IdTable(keys, items, blob, ends);
    let duplicate: number | undefined;
    for (let k = 1; k < n; k++) {
      if (keys[k] !== keys[k - 1]) continue;
      // Equal hashes (rare): the ids compared with those before them in the run.
      for (let m = k - 1; m >= 0 && keys[m] === keys[k]; m--) {
        if (!table.same(items[m]!, items[k]!)) continue;
        if (duplicate === undefined || items[k]! < duplicate) duplicate = items[k]!;
        break;
      }
    }
    return { table, duplicate };
  }

  /** Bytes held (the sorted hashes and their items). */
  get bytes(): number {
    return this.keys.byteLength + this.items.byteLength;
  }

  /** The item whose id is these UTF-8 bytes, or undefined. */
  find(id: Uint8Array): number | undefined {
    const key = bytesHash(id, 0, id.length);
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < keys.length && keys[k] === key; k++) if (this.equals(this.items[k]!, id)) return this.items[k]!;
    return undefined;
  }

  private start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!;
  }

  private same(a: number, b: number): boolean {
    return this.equals(a, this.blob.subarray(this.start(b), this.ends[b]));
  }

  private equals(item: number, id: Uint8Array): boolean {
    const at = this.start(item);
    if (this.ends[item]! - at !== id.length) return false;
    for (let k = 0; k < id.length; k++) if (this.blob[at + k] !== id[k]) return false;
    return true;
  }
}
