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
 * vector shards name) and the payload's SHA-256. Every refusal is a ColumnsError naming why. The
 * columns as held (`CatalogColumns`, the layout, the value checks) are in core/catalog-columns-table.ts.
 */
import { describeIssues, z } from './schema';
import { readVersionedHeader, sha256Hex, writeJsonHeader } from './federated/format';
import type { CatalogItem } from './catalog';
import { CatalogColumns, FingerprintHash, layout, NO_YEAR } from './catalog-columns-table';
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

function hexToBytes(hash: string, out: Uint8Array, at: number): void {
  for (let i = 0; i < 8; i++) out[at + i] = Number.parseInt(hash.slice(2 * i, 2 * i + 2), 16);
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

/** The bytes a columns file's framing takes before its header (magic, the header's length). */
export const COLUMNS_PREFIX_BYTES = PREFIX_BYTES;

/**
 * How many bytes from the start hold the prefix and the header, as the prefix (its first COLUMNS_PREFIX_BYTES)
 * says; undefined when the prefix is short or names a header past the bound readColumnsHeader allows. Reads
 * nothing else: readColumnsHeader checks the bytes.
 */
export function columnsHeaderEnd(prefix: Uint8Array): number | undefined {
  if (prefix.length < PREFIX_BYTES) return undefined;
  const headerLength = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_BYTES).getUint32(COLUMNS_MAGIC.length, true);
  return headerLength <= MAX_HEADER_BYTES ? PREFIX_BYTES + headerLength : undefined;
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

/** What a device recorded when it kept a columns file it had checked whole (storage/opfs-columns.ts). */
export interface KeptColumnsRecord {
  payloadSha256: string;
  catalogFingerprint: string;
  /** The file's length in bytes. */
  bytes: number;
  /** Its items (the header's itemCount), checked again when it is read back. Absent from records kept before stop 37. */
  itemCount?: number;
}

/**
 * Where a columns file's titles start: every other column lies before them (core/catalog-columns-table.ts layout),
 * so a returning visit reads the file up to here first and the titles (42 % of the file at 1M items) after its
 * first feed. `bytes`: the file's first bytes, through the header's end (columnsHeaderEnd).
 */
export function columnsTitlesAt(bytes: Uint8Array, source = 'kept catalog columns'): number {
  const { header, payloadStart } = readColumnsHeader(bytes, source);
  return payloadStart + layout(header.itemCount, header).titles;
}

/**
 * A columns file this device checked whole (`decodeColumns`) and kept, read back on a later start: its
 * header checked again, its length and its header's SHA-256 and fingerprint those recorded when it was
 * kept, its values' shape checked and the id table filled (`checkShape`; with `titlesLater`, the id table is left
 * to `checkIds` or the first lookup), but not hashed again (57 MB at 1M items, every start) nor its UTF-8 and
 * fingerprint recomputed. No copy: the columns are views of
 * `bytes`, whose payload must start at a multiple of 4 in its buffer (a file read whole from offset 0).
 */
export function decodeKeptColumns(
  bytes: Uint8Array<ArrayBuffer>,
  kept: KeptColumnsRecord,
  source = 'kept catalog columns',
  titlesLater = false,
): CatalogColumns {
  const { header, payloadStart } = readColumnsHeader(bytes, source);
  const fail = (reason: ColumnsProblem, message: string): never => {
    throw new ColumnsError(reason, `${source}: ${message}`);
  };
  const at = layout(header.itemCount, header);
  // `titlesLater`: the bytes stop where the titles start (columnsTitlesAt); the titles are handed over later (CatalogColumns.useTitles).
  const expected = titlesLater ? payloadStart + at.titles : kept.bytes;
  if (bytes.length !== expected)
    fail(bytes.length < expected ? 'truncated' : 'too-long', `${bytes.length} bytes, ${expected} expected of the ${kept.bytes} kept`);
  if (header.payloadSha256 !== kept.payloadSha256 || header.catalogFingerprint !== kept.catalogFingerprint)
    fail('bad-header', 'its header is not the one checked when it was kept');
  if (kept.itemCount !== undefined && kept.itemCount !== header.itemCount) fail('bad-header', `${header.itemCount} items, ${kept.itemCount} were kept`);
  if (kept.bytes !== payloadStart + at.total) fail('truncated', `${kept.bytes} bytes kept, its header describes ${payloadStart + at.total}`);
  const columns = new CatalogColumns(header, bytes.subarray(payloadStart), at);
  // With the titles later, the id table is built later too (`checkIds`, after the first feed: engine/catalog-scale.ts readKeptTitles).
  const problem = columns.checkShape(titlesLater);
  if (problem) fail('bad-values', problem);
  return columns;
}

export { CatalogColumns };
