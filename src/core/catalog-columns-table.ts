/**
 * The columns of a large catalog as the worker holds them (issue 21), split from core/catalog-columns.ts
 * (the file format: header, encode, decode and the checks of a download): the payload's layout, the
 * fingerprint of the ids, and `CatalogColumns`, the typed arrays with their lookups and value checks.
 */
import type { CatalogView } from './catalog-view';
import type { ColumnsHeader } from './catalog-columns';
import { bytesHash, IdTable } from './catalog-columns-ids';

export const NO_YEAR = -32768;
const MAX_ID_BYTES = 800; // 200 characters of up to 4 UTF-8 bytes
const MAX_TITLE_BYTES = 2000;

const align4 = (n: number) => Math.ceil(n / 4) * 4;

export type ColumnsLayout = ReturnType<typeof layout>;

/** Where each column starts in the payload, and the payload's length. */
export function layout(n: number, h: Pick<ColumnsHeader, 'idBytes' | 'titleBytes' | 'genreRefs'>) {
  const popularity = 0;
  const idEnds = popularity + 4 * n;
  const titleEnds = idEnds + 4 * n;
  const genreEnds = titleEnds + 4 * n;
  const hashes = genreEnds + 4 * n;
  const years = hashes + 8 * n;
  const genreRefs = align4(years + 2 * n);
  const ids = align4(genreRefs + 2 * h.genreRefs);
  const titles = ids + h.idBytes;
  return { popularity, idEnds, titleEnds, genreEnds, hashes, years, genreRefs, ids, titles, total: titles + h.titleBytes };
}

/** FNV-1a over the ids' UTF-16 code units joined by '\n', as catalogFingerprint(textHash) computes it, one id at a time. */
export class FingerprintHash {
  private a = 0x811c9dc5;
  private b = 0x01000193 ^ 0x5bd1e995;
  private first = true;
  add(id: string): void {
    if (!this.first) this.unit(10);
    this.first = false;
    for (let i = 0; i < id.length; i++) this.unit(id.charCodeAt(i));
  }
  private unit(code: number): void {
    this.a = Math.imul(this.a ^ code, 0x01000193);
    this.b = Math.imul(this.b ^ code, 0x01000193) ^ (this.b >>> 13);
  }
  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}

const utf8 = new TextEncoder();
const isSpace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);

/** Whether `blob` holds `bytes` from `start` (its length is the caller's). */
function sameBytes(blob: Uint8Array, start: number, bytes: Uint8Array): boolean {
  for (let k = 0; k < bytes.length; k++) if (blob[start + k] !== bytes[k]) return false;
  return true;
}

/** Ends of variable-length entries as offsets into a blob: entry i is [end(i−1), end(i)). */
class Ends {
  constructor(readonly ends: Uint32Array) {}
  start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!;
  }
  end(i: number): number {
    return this.ends[i]!;
  }
}

/** Where a columns catalog's titles come from while they are read after the rest (CatalogColumns.titlesLater). */
export interface PendingTitles {
  /** Bytes [start, start + length) of the titles section. */
  read(start: number, length: number): Uint8Array;
  /** The whole section, at once. */
  readAll(): Uint8Array;
}

/** Titles read one at a time while pending, at most; then the section is read at once. */
const PENDING_TITLE_READS = 5000;
/** Ids looked up by one pass over the blob (`resolveIds`) at most; more, and the id table is built instead. */
const RESOLVE_IDS_MAX = 1000;

/** The first entry of `blob` with spaces around it, named; undefined when none has. */
function titleSpaces(ends: Ends, blob: Uint8Array, n: number, what = 'title'): string | undefined {
  for (let i = 0; i < n; i++) {
    const start = ends.start(i);
    const end = ends.end(i);
    if (isSpace(blob[start]!) || isSpace(blob[end - 1]!)) return `item ${i}'s ${what} has spaces around it`;
  }
  return undefined;
}

/**
 * A catalog's per-item columns as the worker keeps them: about 60 bytes an item plus its id and title
 * as UTF-8 (1M shipped-shape items: ~70 MiB, docs/scale.md), strings made only when asked for.
 */
export class CatalogColumns implements CatalogView {
  readonly size: number;
  /** Raw popularity (−1 = none); the ranker's prior is `popularityPrior()`. */
  readonly rawPopularity: Float32Array;
  readonly years: Int16Array;
  /** 8 bytes an item: the text hash of its encoder text, as core/index/shards stores them. */
  readonly hashBytes: Uint8Array;
  private readonly idEnds: Ends;
  private readonly titleEnds: Ends;
  private readonly genreEnds: Ends;
  private readonly genreRefs: Uint16Array;
  private readonly idBlob: Uint8Array;
  /** Undefined while the titles are still being read (`titlesLater`): then `pendingTitles` reads each title asked for. */
  private titleBlob: Uint8Array | undefined;
  private pendingTitles: PendingTitles | undefined;
  /** Titles read one by one while pending; past PENDING_TITLE_READS the rest are read at once (a search's index asks for all). */
  private pendingReads = 0;
  /** id → item (core/catalog-columns-ids.ts), filled by `checkShape`, or later (`checkShape(true)`: `checkIds`). */
  private idTable: IdTable | undefined;
  /** While the id table is not built: ids found by `resolveIds` (undefined: not in the catalog). */
  private resolvedIds: Map<string, number | undefined> | undefined;
  /** The duplicate the id table found, once built (a message), else undefined. */
  private idProblem: string | undefined;
  private readonly decoder = new TextDecoder();
  /** The whole payload the columns are views of (what a device keeps, storage/opfs-columns.ts); up to the titles where they come later. */
  readonly payload: Uint8Array<ArrayBuffer>;

  constructor(
    readonly header: ColumnsHeader,
    payload: Uint8Array<ArrayBuffer>,
    at: ColumnsLayout,
  ) {
    const n = (this.size = header.itemCount);
    this.payload = payload.subarray(0, at.total);
    const buffer = payload.buffer;
    // The payload may start inside a larger buffer (a file read whole from storage): at a multiple of 4.
    const base = payload.byteOffset;
    if (base % 4 !== 0) throw new RangeError(`the columns' payload starts at byte ${base}, not a multiple of 4`);
    this.rawPopularity = new Float32Array(buffer, base + at.popularity, n);
    this.idEnds = new Ends(new Uint32Array(buffer, base + at.idEnds, n));
    this.titleEnds = new Ends(new Uint32Array(buffer, base + at.titleEnds, n));
    this.genreEnds = new Ends(new Uint32Array(buffer, base + at.genreEnds, n));
    this.hashBytes = new Uint8Array(buffer, base + at.hashes, 8 * n);
    this.years = new Int16Array(buffer, base + at.years, n);
    this.genreRefs = new Uint16Array(buffer, base + at.genreRefs, header.genreRefs);
    this.idBlob = new Uint8Array(buffer, base + at.ids, header.idBytes);
    // A payload that stops where the titles start: they come later (`titlesLater`, then `useTitles`).
    this.titleBlob = payload.length >= at.total ? new Uint8Array(buffer, base + at.titles, header.titleBytes) : undefined;
    if (!this.titleBlob && payload.length < at.titles)
      throw new RangeError(`the columns' payload is ${payload.length} bytes, the titles start at ${at.titles}`);
  }

  get fingerprint(): string {
    return this.header.catalogFingerprint;
  }

  /** Bytes of the typed arrays held (the payload's columns and the id table). */
  get bytes(): number {
    const titlesApart = this.titleBlob && this.titleBlob.buffer !== this.rawPopularity.buffer ? this.titleBlob.byteLength : 0;
    return this.rawPopularity.buffer.byteLength + titlesApart + (this.idTable?.bytes ?? 0);
  }

  /** Whether the titles are still being read (`titlesLater`). */
  get titlesPending(): boolean {
    return this.titleBlob === undefined;
  }

  /**
   * Columns made without their titles (a payload that stops where they start): `read` answers each title asked
   * for meanwhile (a feed's cards), until `useTitles` is handed the whole section.
   */
  titlesLater(read: PendingTitles): void {
    if (this.titleBlob) throw new Error('the titles are already read');
    this.pendingTitles = read;
  }

  /**
   * The titles section, read after the rest (`titlesLater`): checked as `checkShape` checks it (its length, no
   * title with spaces around it); a message naming the first problem (the titles are not used), or undefined.
   */
  useTitles(blob: Uint8Array): string | undefined {
    const problem =
      blob.length === this.header.titleBytes
        ? titleSpaces(this.titleEnds, blob, this.size)
        : `the titles are ${blob.length} bytes, the header says ${this.header.titleBytes}`;
    if (problem) return problem;
    this.titleBlob = blob;
    this.pendingTitles = undefined;
    return undefined;
  }

  /** Every value checked, the id table filled; a message naming the first problem, or undefined. */
  check(): string | undefined {
    return this.checkShape() ?? this.checkText();
  }

  /** Whether the id table is still to be built (`checkShape(true)`): a lookup meanwhile builds it, unless `resolveIds` found the id. */
  get idsPending(): boolean {
    return this.idTable === undefined;
  }

  /**
   * The id table built (if `checkShape(true)` left it for later) and the ids checked for duplicates: a message
   * naming the first duplicate, or undefined. The table is used either way (a lookup finds the first of equal ids).
   */
  checkIds(): string | undefined {
    if (!this.idTable) {
      const { table, duplicate } = IdTable.build(this.idBlob, this.idEnds.ends);
      this.idTable = table;
      this.resolvedIds = undefined;
      this.idProblem = duplicate === undefined ? undefined : `duplicate id "${this.id(duplicate)}" (item ${duplicate})`;
    }
    return this.idProblem;
  }

  /**
   * While the id table is not built: `ids` looked up by one pass over the ids' bytes (those of their lengths
   * hashed and compared), so that `indexOf` answers them without the table (a returning visit's history before
   * its first feed). More than RESOLVE_IDS_MAX ids: the table is built instead. Each id found is the first item
   * with it, as the table's lookup answers.
   */
  resolveIds(ids: Iterable<string>): void {
    if (this.idTable) return;
    const resolved = (this.resolvedIds ??= new Map());
    const wanted = new Map<number, { id: string; bytes: Uint8Array }[]>();
    // Items whose id has a wanted length and last two bytes are hashed (a few percent of them, for short ids of one shape).
    const lengths = new Uint8Array(MAX_ID_BYTES + 1);
    const tails = new Uint8Array(65536);
    const tail = (bytes: Uint8Array, end: number, length: number) => (bytes[end - 1]! << 8) | bytes[length > 1 ? end - 2 : end - 1]!;
    let count = 0;
    for (const id of ids) {
      if (resolved.has(id)) continue;
      const bytes = utf8.encode(id);
      resolved.set(id, undefined);
      if (bytes.length < 1 || bytes.length > MAX_ID_BYTES) continue;
      const key = bytesHash(bytes, 0, bytes.length);
      const same = wanted.get(key);
      if (same) same.push({ id, bytes });
      else wanted.set(key, [{ id, bytes }]);
      lengths[bytes.length] = 1;
      tails[tail(bytes, bytes.length, bytes.length)] = 1;
      count++;
    }
    if (count === 0) return;
    if (count > RESOLVE_IDS_MAX) {
      this.checkIds();
      return;
    }
    const { idBlob: blob } = this;
    const ends = this.idEnds.ends;
    let left = count;
    let start = 0;
    for (let i = 0; i < this.size && left > 0; i++) {
      const end = ends[i]!;
      const length = end - start;
      if (lengths[length] === 1 && tails[tail(blob, end, length)] === 1) {
        const candidates = wanted.get(bytesHash(blob, start, end));
        if (candidates) {
          for (let c = 0; c < candidates.length; c++) {
            const { id, bytes } = candidates[c]!;
            if (resolved.get(id) !== undefined || !sameBytes(blob, start, bytes)) continue;
            resolved.set(id, i);
            left--;
          }
        }
      }
      start = end;
    }
  }

  /**
   * What a file kept on this device after its full check is checked for again on each start (cheap:
   * no string is made): every end in order and inside its blob, lengths, spaces, years, popularity,
   * genre references; the id table filled (a duplicate refused). Not the UTF-8 of the ids and titles
   * nor the fingerprint of the ids (`checkText`), which the SHA-256 checked when the file was kept.
   * `idsLater`: the id table is not built here (100–200 ms at 1M items) but by `checkIds` (the caller's,
   * after a first feed) or the first lookup of an id `resolveIds` did not find.
   */
  checkShape(idsLater = false): string | undefined {
    const { size: n, header } = this;
    const blobs: [Ends, Uint8Array | undefined, number, number, string][] = [
      [this.idEnds, this.idBlob, header.idBytes, MAX_ID_BYTES, 'id'],
      // Titles still to come (`titlesLater`): their ends are checked now, their spaces by `useTitles`.
      [this.titleEnds, this.titleBlob, header.titleBytes, MAX_TITLE_BYTES, 'title'],
    ];
    for (const [ends, blob, bytes, max, what] of blobs) {
      if (ends.end(n - 1) !== bytes) return `the ${what}s end at byte ${ends.end(n - 1)}, the header says ${bytes}`;
      for (let i = 0; i < n; i++) {
        const length = ends.end(i) - ends.start(i);
        if (length < 1 || length > max) return `item ${i}'s ${what} is ${length} bytes (1 to ${max} allowed)`;
      }
      const spaces = blob && titleSpaces(ends, blob, n, what);
      if (spaces) return spaces;
    }
    if (n > 0 && this.genreEnds.end(n - 1) !== header.genreRefs)
      return `the genre lists end at ${this.genreEnds.end(n - 1)}, the header says ${header.genreRefs}`;
    for (let i = 0; i < n; i++) {
      if (this.genreEnds.end(i) < this.genreEnds.start(i)) return `item ${i}'s genre list ends before it starts`;
      const year = this.years[i]!;
      if (year !== NO_YEAR && (year < -5000 || year > 3000)) return `item ${i}'s year ${year} is out of range`;
      const popularity = this.rawPopularity[i]!;
      if (!Number.isFinite(popularity) || (popularity < 0 && popularity !== -1)) return `item ${i}'s popularity ${popularity} is invalid`;
    }
    for (const ref of this.genreRefs) if (ref >= header.genres.length) return `a genre reference (${ref}) is outside the ${header.genres.length} genres`;
    return idsLater ? undefined : this.checkIds();
  }

  /** The ids and titles valid UTF-8, and the ids those the header's fingerprint was made of. */
  private checkText(): string | undefined {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const n = this.size;
    const blobs: [Ends, Uint8Array, string][] = [
      [this.idEnds, this.idBlob, 'id'],
      [this.titleEnds, this.titleBlob ?? this.titlesNow(), 'title'],
    ];
    for (const [ends, blob, what] of blobs) {
      try {
        // Whole entries in slices of ~1 MB: a 40 MB blob is not turned into one string at once.
        for (let i = 0; i < n;) {
          let j = i;
          while (j < n && ends.end(j) - ends.start(i) < 2 ** 20) j++;
          j = Math.max(j, i + 1);
          strict.decode(blob.subarray(ends.start(i), ends.end(j - 1)));
          i = j;
        }
      } catch {
        return `the ${what}s are not valid UTF-8`;
      }
    }
    const fingerprint = new FingerprintHash();
    for (let i = 0; i < n; i++) fingerprint.add(this.id(i));
    if (fingerprint.hex() !== this.header.catalogFingerprint) return `the ids do not match the header's catalog fingerprint`;
    return undefined;
  }

  id(i: number): string {
    return this.decoder.decode(this.idBlob.subarray(this.idEnds.start(i), this.idEnds.end(i)));
  }

  title(i: number): string {
    const start = this.titleEnds.start(i);
    const length = this.titleEnds.end(i) - start;
    if (!this.titleBlob && this.pendingTitles && ++this.pendingReads <= PENDING_TITLE_READS) return this.decoder.decode(this.pendingTitles.read(start, length));
    const blob = this.titleBlob ?? this.titlesNow();
    return this.decoder.decode(blob.subarray(start, start + length));
  }

  /** The pending titles read whole at once (many asked for before they came), checked as `useTitles` checks them. */
  private titlesNow(): Uint8Array {
    if (!this.pendingTitles) throw new Error('the titles have not been read');
    const problem = this.useTitles(this.pendingTitles.readAll());
    if (problem) throw new Error(`the kept catalog's titles: ${problem}`);
    return this.titleBlob!;
  }

  year(i: number): number | undefined {
    const year = this.years[i]!;
    return year === NO_YEAR ? undefined : year;
  }

  genres(i: number): string[] {
    const out: string[] = [];
    for (let k = this.genreEnds.start(i); k < this.genreEnds.end(i); k++) out.push(this.header.genres[this.genreRefs[k]!]!);
    return out;
  }

  /** Calls `visit(item, genre)` for every genre of every item, in item order (`genre`: an index into header.genres). */
  forEachGenre(visit: (item: number, genre: number) => void): void {
    for (let i = 0; i < this.size; i++) for (let k = this.genreEnds.start(i); k < this.genreEnds.end(i); k++) visit(i, this.genreRefs[k]!);
  }

  /** The 16-hex-digit text hash of item i's encoder text. */
  textHash(i: number): string {
    let hex = '';
    for (let k = 8 * i; k < 8 * i + 8; k++) hex += this.hashBytes[k]!.toString(16).padStart(2, '0');
    return hex;
  }

  /**
   * The catalog index of an id, or undefined. Before the id table is built (`checkShape(true)`): an id
   * `resolveIds` looked up is answered from there; any other builds the table first (`checkIds`).
   */
  indexOf(id: string): number | undefined {
    if (!this.idTable) {
      const resolved = this.resolvedIds;
      if (resolved?.has(id)) return resolved.get(id);
      this.checkIds();
    }
    return this.idTable!.find(utf8.encode(id));
  }

  /** popularityScores (core/rank) over the raw column: log1p(popularity) / max, 0 where none. */
  popularityPrior(): Float32Array {
    // Plain loops: `Float32Array.from(logs, map)` took 300–400 ms at 1M items (the iterator path), on every start.
    // The largest log is the log of the largest value (log1p rises with its argument; float32 values lie far more
    // than its error apart), so no array of logs: one log an item (stop 39: 1M items in Node, cold, 8 runs each at
    // load 3.9, median ~84 → ~38 ms; the same bits out).
    const n = this.size;
    const raw = this.rawPopularity;
    let top = 0;
    for (let i = 0; i < n; i++) if (raw[i]! > top) top = raw[i]!;
    const out = new Float32Array(n);
    if (top <= 0) return out;
    const max = Math.log1p(top);
    for (let i = 0; i < n; i++) {
      const value = raw[i]!;
      out[i] = value > 0 ? Math.log1p(value) / max : 0;
    }
    return out;
  }

  /** recencyScores (core/catalog-index) over the year column. */
  recency(): Float32Array {
    let oldest = Infinity;
    let newest = -Infinity;
    for (const year of this.years) {
      if (year === NO_YEAR) continue;
      if (year < oldest) oldest = year;
      if (year > newest) newest = year;
    }
    const out = new Float32Array(this.size);
    if (newest === -Infinity) return out;
    oldest = Math.max(oldest, 1800);
    const span = newest - oldest || 1;
    const years = this.years;
    for (let i = 0; i < years.length; i++) {
      const year = years[i]!;
      out[i] = year === NO_YEAR ? 0 : Math.min(1, Math.max(0, (year - oldest) / span));
    }
    return out;
  }
}
