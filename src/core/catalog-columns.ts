/**
 * A large catalog's columns (issue 21): what a worker keeps of a 1,000,000-item catalog in typed arrays
 * instead of a million item objects. The publisher writes it beside the vector shards
 * (`<catalog>.columns`, cli/build-catalog-columns.ts); the full rows (text, tags, description) are in
 * row shards (core/catalog-rows.ts), read only for the items a device shows, ranks or embeds.
 *
 * File (little-endian): 8 magic bytes 0x89 'P' 'R' 'C' 'O' 'L' '\r' '\n', u32 header length, the
 * header (UTF-8 JSON, schema below), zero padding to 4, then the payload, n = itemCount:
 *   n × f32   popularity (−1 where the item has none)
 *   n × u32   end of each id in the ids blob; n × u32 end of each title in the titles blob
 *   n × u32   end of each item's genre list in the genre references
 *   8n bytes  text hashes (core/hash textHash of the encoder text: which vector row fits the item)
 *   n × i16   year (−32768 where unknown), padded to 4
 *   g × u16   genre references (indices into the header's genre list), padded to 4
 *   UTF-8     the ids, then the titles, back to back
 * The header carries the catalog's fingerprint (catalogFingerprint of the ids in order, the one the
 * vector shards name) and the payload's SHA-256. Every refusal is a ColumnsError naming why.
 */
import { describeIssues, z } from './schema';
import { readVersionedHeader, sha256Hex, writeJsonHeader } from './federated/format';
import type { CatalogItem } from './catalog';
import type { CatalogView } from './catalog-view';
import { MAX_LABEL_LENGTH } from './catalog';
import { textHash } from './hash';
import { encoderText } from './item-text';

export const COLUMNS_FORMAT = 'private-recs-catalog-columns';
export const COLUMNS_VERSION = 1;
export const COLUMNS_MAGIC = Uint8Array.from([0x89, 0x50, 0x52, 0x43, 0x4f, 0x4c, 0x0d, 0x0a]);
const PREFIX_BYTES = COLUMNS_MAGIC.length + 4;
/** Bounds checked before any allocation that grows with them. */
export const MAX_COLUMN_ITEMS = 5_000_000;
const MAX_GENRES = 10_000;
const MAX_HEADER_BYTES = 4 * 1024 * 1024;
const NO_YEAR = -32768;
const MAX_ID_BYTES = 800; // 200 characters of up to 4 UTF-8 bytes
const MAX_TITLE_BYTES = 2000;

const headerSchema = z.object({
  format: z.literal(COLUMNS_FORMAT),
  version: z.int().check(z.positive()),
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  license: z.optional(z.string().check(z.maxLength(500))),
  attribution: z.optional(z.string().check(z.maxLength(2000))),
  itemCount: z.int().check(z.gte(1), z.lte(MAX_COLUMN_ITEMS)),
  catalogFingerprint: z.string().check(z.regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits')),
  /** Items per row shard (core/catalog-rows.ts); the shards are planned as the vector shards are. */
  rowShardItems: z.int().check(z.positive()),
  genres: z.array(z.string().check(z.minLength(1), z.maxLength(MAX_LABEL_LENGTH))).check(z.maxLength(MAX_GENRES)),
  idBytes: z.int().check(z.nonnegative()),
  titleBytes: z.int().check(z.nonnegative()),
  genreRefs: z.int().check(z.nonnegative()),
  payloadSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
});

export type ColumnsHeader = z.infer<typeof headerSchema>;

export type ColumnsProblem = 'not-columns' | 'newer-version' | 'bad-header' | 'other-catalog' | 'truncated' | 'too-long' | 'bad-checksum' | 'bad-values';

export class ColumnsError extends Error {
  override name = 'ColumnsError';
  constructor(
    readonly reason: ColumnsProblem,
    message: string,
  ) {
    super(message);
  }
}

const align4 = (n: number) => Math.ceil(n / 4) * 4;

function layout(n: number, h: Pick<ColumnsHeader, 'idBytes' | 'titleBytes' | 'genreRefs'>) {
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

function hexToBytes(hash: string, out: Uint8Array, at: number): void {
  for (let i = 0; i < 8; i++) out[at + i] = Number.parseInt(hash.slice(2 * i, 2 * i + 2), 16);
}

/** FNV-1a over the ids' UTF-16 code units joined by '\n', as catalogFingerprint(textHash) computes it, one id at a time. */
class FingerprintHash {
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

export interface ColumnsInfo {
  name: string;
  license?: string;
  attribution?: string;
  rowShardItems: number;
}

/** Writes the columns of validated catalog items (core/catalog parseCatalog's output). */
export async function encodeColumns(info: ColumnsInfo, items: readonly CatalogItem[]): Promise<Uint8Array<ArrayBuffer>> {
  const n = items.length;
  const utf8 = new TextEncoder();
  const ids = items.map((item) => utf8.encode(item.id));
  const titles = items.map((item) => utf8.encode(item.title));
  const genreIndex = new Map<string, number>();
  for (const item of items) for (const genre of item.genres ?? []) if (!genreIndex.has(genre)) genreIndex.set(genre, genreIndex.size);
  const refs: number[] = [];
  const genreEnds = new Uint32Array(n);
  items.forEach((item, i) => {
    for (const genre of item.genres ?? []) refs.push(genreIndex.get(genre)!);
    genreEnds[i] = refs.length;
  });
  const sizes = { idBytes: ids.reduce((s, b) => s + b.length, 0), titleBytes: titles.reduce((s, b) => s + b.length, 0), genreRefs: refs.length };
  const at = layout(n, sizes);
  const payload = new Uint8Array(at.total);
  const view = new DataView(payload.buffer);
  let idEnd = 0;
  let titleEnd = 0;
  const fingerprint = new FingerprintHash();
  items.forEach((item, i) => {
    view.setFloat32(at.popularity + 4 * i, item.popularity ?? -1, true);
    payload.set(ids[i]!, at.ids + idEnd);
    idEnd += ids[i]!.length;
    view.setUint32(at.idEnds + 4 * i, idEnd, true);
    payload.set(titles[i]!, at.titles + titleEnd);
    titleEnd += titles[i]!.length;
    view.setUint32(at.titleEnds + 4 * i, titleEnd, true);
    view.setUint32(at.genreEnds + 4 * i, genreEnds[i]!, true);
    hexToBytes(textHash(encoderText(item)), payload, at.hashes + 8 * i);
    view.setInt16(at.years + 2 * i, item.year ?? NO_YEAR, true);
    fingerprint.add(item.id);
  });
  refs.forEach((ref, k) => view.setUint16(at.genreRefs + 2 * k, ref, true));
  const header = {
    format: COLUMNS_FORMAT,
    version: COLUMNS_VERSION,
    ...info,
    itemCount: n,
    catalogFingerprint: fingerprint.hex(),
    genres: [...genreIndex.keys()],
    ...sizes,
    payloadSha256: await sha256Hex(payload),
  };
  const parsed = headerSchema.safeParse(header);
  if (!parsed.success) throw new ColumnsError('bad-header', `cannot write the columns: ${describeIssues(parsed.error)}`);
  return writeJsonHeader(COLUMNS_MAGIC, utf8.encode(JSON.stringify(parsed.data)), payload);
}

/** The header alone, checked (from the first bytes of a download: a newer or foreign file is refused early). */
export function readColumnsHeader(bytes: Uint8Array, source = 'catalog columns'): { header: ColumnsHeader; payloadStart: number } {
  const fail = (reason: ColumnsProblem, message: string): never => {
    throw new ColumnsError(reason, `${source}: ${message}`);
  };
  const magicMatches = COLUMNS_MAGIC.subarray(0, Math.min(bytes.length, COLUMNS_MAGIC.length)).every((b, i) => bytes[i] === b);
  if (!magicMatches || bytes.length === 0) fail('not-columns', 'not a catalog columns file (wrong magic bytes)');
  if (bytes.length < PREFIX_BYTES) fail('truncated', `truncated: ${bytes.length} bytes`);
  return readVersionedHeader(
    bytes,
    { magicLength: COLUMNS_MAGIC.length, prefixBytes: PREFIX_BYTES, maxHeaderBytes: MAX_HEADER_BYTES },
    { format: COLUMNS_FORMAT, version: COLUMNS_VERSION, noun: 'file', schema: headerSchema },
    fail,
  );
}

/**
 * Parses and checks a whole columns file: framing, checksum, every value (ends in order, ids and titles
 * valid UTF-8 of allowed lengths without outer spaces, unique ids, years and popularity in range,
 * genre references in the list) and the fingerprint of the ids. `expectedFingerprint`, when given,
 * is the one the vector shards or the catalog's manifest name: a file for another version is refused.
 */
export async function decodeColumns(bytes: Uint8Array, expectedFingerprint?: string, source = 'catalog columns'): Promise<CatalogColumns> {
  const { header, payloadStart } = readColumnsHeader(bytes, source);
  const fail = (reason: ColumnsProblem, message: string): never => {
    throw new ColumnsError(reason, `${source}: ${message}`);
  };
  if (expectedFingerprint !== undefined && header.catalogFingerprint !== expectedFingerprint)
    fail('other-catalog', 'it was built for another version of the catalog (its items differ)');
  const n = header.itemCount;
  const at = layout(n, header);
  const expectedLength = payloadStart + at.total;
  if (bytes.length < expectedLength) fail('truncated', `truncated: ${bytes.length} bytes, expected ${expectedLength} for ${n} items`);
  if (bytes.length > expectedLength) fail('too-long', `${bytes.length} bytes, longer than the ${expectedLength} its header describes`);
  // A copy, aligned, so the columns below are views of it and the download can be dropped.
  const payload = new Uint8Array(bytes.subarray(payloadStart));
  if ((await sha256Hex(payload)) !== header.payloadSha256) fail('bad-checksum', 'the payload does not match its SHA-256 (damaged in transit or edited)');
  const columns = new CatalogColumns(header, payload, at);
  const problem = columns.check();
  if (problem) fail(problem.includes('fingerprint') ? 'other-catalog' : 'bad-values', problem);
  return columns;
}

const isSpace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);

/** Ends of variable-length entries as offsets into a blob: entry i is [end(i−1), end(i)). */
class Ends {
  constructor(private readonly ends: Uint32Array) {}
  start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!;
  }
  end(i: number): number {
    return this.ends[i]!;
  }
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
  private readonly titleBlob: Uint8Array;
  /** Open addressing over the ids' bytes: slot → item + 1 (0 = empty). */
  private readonly slots: Uint32Array;
  private readonly decoder = new TextDecoder();

  constructor(
    readonly header: ColumnsHeader,
    payload: Uint8Array<ArrayBuffer>,
    at: ReturnType<typeof layout>,
  ) {
    const n = (this.size = header.itemCount);
    const buffer = payload.buffer;
    this.rawPopularity = new Float32Array(buffer, at.popularity, n);
    this.idEnds = new Ends(new Uint32Array(buffer, at.idEnds, n));
    this.titleEnds = new Ends(new Uint32Array(buffer, at.titleEnds, n));
    this.genreEnds = new Ends(new Uint32Array(buffer, at.genreEnds, n));
    this.hashBytes = new Uint8Array(buffer, at.hashes, 8 * n);
    this.years = new Int16Array(buffer, at.years, n);
    this.genreRefs = new Uint16Array(buffer, at.genreRefs, header.genreRefs);
    this.idBlob = new Uint8Array(buffer, at.ids, header.idBytes);
    this.titleBlob = new Uint8Array(buffer, at.titles, header.titleBytes);
    this.slots = new Uint32Array(2 ** Math.ceil(Math.log2(2 * n + 1)));
  }

  get fingerprint(): string {
    return this.header.catalogFingerprint;
  }

  /** Bytes of the typed arrays held (the payload's columns and the id table). */
  get bytes(): number {
    return this.rawPopularity.buffer.byteLength + this.slots.byteLength;
  }

  /** Every value checked, the id table filled; a message naming the first problem, or undefined. */
  check(): string | undefined {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const fingerprint = new FingerprintHash();
    const { size: n, header } = this;
    const blobs: [Ends, Uint8Array, number, string][] = [
      [this.idEnds, this.idBlob, MAX_ID_BYTES, 'id'],
      [this.titleEnds, this.titleBlob, MAX_TITLE_BYTES, 'title'],
    ];
    for (const [ends, blob, max, what] of blobs) {
      if (ends.end(n - 1) !== blob.length) return `the ${what}s end at byte ${ends.end(n - 1)}, the header says ${blob.length}`;
      for (let i = 0; i < n; i++) {
        const start = ends.start(i);
        const length = ends.end(i) - start;
        if (length < 1 || length > max) return `item ${i}'s ${what} is ${length} bytes (1 to ${max} allowed)`;
        if (isSpace(blob[start]!) || isSpace(blob[start + length - 1]!)) return `item ${i}'s ${what} has spaces around it`;
      }
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
    if (n > 0 && this.genreEnds.end(n - 1) !== header.genreRefs)
      return `the genre lists end at ${this.genreEnds.end(n - 1)}, the header says ${header.genreRefs}`;
    for (let i = 0; i < n; i++) {
      if (this.genreEnds.end(i) < this.genreEnds.start(i)) return `item ${i}'s genre list ends before it starts`;
      const year = this.years[i]!;
      if (year !== NO_YEAR && (year < -5000 || year > 3000)) return `item ${i}'s year ${year} is out of range`;
      const popularity = this.rawPopularity[i]!;
      if (!Number.isFinite(popularity) || (popularity < 0 && popularity !== -1)) return `item ${i}'s popularity ${popularity} is invalid`;
      const id = this.id(i);
      fingerprint.add(id);
      if (!this.insert(i)) return `duplicate id "${id}" (item ${i})`;
    }
    for (const ref of this.genreRefs) if (ref >= header.genres.length) return `a genre reference (${ref}) is outside the ${header.genres.length} genres`;
    if (fingerprint.hex() !== header.catalogFingerprint) return `the ids do not match the header's catalog fingerprint`;
    return undefined;
  }

  id(i: number): string {
    return this.decoder.decode(this.idBlob.subarray(this.idEnds.start(i), this.idEnds.end(i)));
  }

  title(i: number): string {
    return this.decoder.decode(this.titleBlob.subarray(this.titleEnds.start(i), this.titleEnds.end(i)));
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

  /** The catalog index of an id, or undefined. */
  indexOf(id: string): number | undefined {
    const bytes = new TextEncoder().encode(id);
    const mask = this.slots.length - 1;
    for (let slot = bytesHash(bytes, 0, bytes.length) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return undefined;
      if (this.idEquals(entry - 1, bytes, 0, bytes.length)) return entry - 1;
    }
  }

  /** popularityScores (core/rank) over the raw column: log1p(popularity) / max, 0 where none. */
  popularityPrior(): Float32Array {
    const logs = new Float64Array(this.size);
    let max = 0;
    for (let i = 0; i < this.size; i++) max = Math.max(max, (logs[i] = Math.log1p(Math.max(0, this.rawPopularity[i]!))));
    return Float32Array.from(logs, (value) => (max > 0 ? value / max : 0));
  }

  /** recencyScores (core/catalog-index) over the year column. */
  recency(): Float32Array {
    let oldest = Infinity;
    let newest = -Infinity;
    for (const year of this.years) if (year !== NO_YEAR) [oldest, newest] = [Math.min(oldest, year), Math.max(newest, year)];
    const out = new Float32Array(this.size);
    if (newest === -Infinity) return out;
    oldest = Math.max(oldest, 1800);
    const span = newest - oldest || 1;
    this.years.forEach((year, i) => (out[i] = year === NO_YEAR ? 0 : Math.min(1, Math.max(0, (year - oldest) / span))));
    return out;
  }

  private insert(i: number): boolean {
    const start = this.idEnds.start(i);
    const end = this.idEnds.end(i);
    const mask = this.slots.length - 1;
    for (let slot = bytesHash(this.idBlob, start, end) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) {
        this.slots[slot] = i + 1;
        return true;
      }
      if (this.idEquals(entry - 1, this.idBlob, start, end)) return false;
    }
  }

  private idEquals(item: number, bytes: Uint8Array, start: number, end: number): boolean {
    const at = this.idEnds.start(item);
    if (this.idEnds.end(item) - at !== end - start) return false;
    for (let k = 0; k < end - start; k++) if (this.idBlob[at + k] !== bytes[start + k]) return false;
    return true;
  }
}

function bytesHash(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
  return h >>> 0;
}
