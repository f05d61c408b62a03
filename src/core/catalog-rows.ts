/**
 * A large catalog's full rows in shards (issue 21), beside its columns (core/catalog-columns.ts): row
 * r of shard s is catalog item s·rowShardItems + r, as a catalog JSON row (id, title, text, byline,
 * genres, tags, description, …). A device stores the shards (OPFS) and reads a row only for an item it
 * shows, ranks or embeds, so a million texts never sit in the worker's memory.
 *
 * File (little-endian): 8 magic bytes 0x89 'P' 'R' 'R' 'O' 'W' '\r' '\n', u32 header length, the
 * header (UTF-8 JSON), zero padding to 4, then n × u32 (the end of each row in the rows' bytes) and the
 * rows, UTF-8 JSON objects back to back. A shard is checked whole when it arrives (checksum, every row
 * valid, its id and its encoder text's hash those of the columns) and each row again when it is read.
 */
import { describeIssues, z } from './schema';
import { readVersionedHeader, sha256Hex, writeJsonHeader } from './federated/format';
import { canonicalItem, catalogItemSchema, type CatalogItem } from './catalog';
import type { CatalogColumns } from './catalog-columns';
import { textHash } from './hash';
import { encoderText } from './item-text';

export const ROWS_FORMAT = 'private-recs-catalog-rows';
export const ROWS_VERSION = 1;
export const ROWS_MAGIC = Uint8Array.from([0x89, 0x50, 0x52, 0x52, 0x4f, 0x57, 0x0d, 0x0a]);
const PREFIX_BYTES = ROWS_MAGIC.length + 4;
const MAX_HEADER_BYTES = 64 * 1024;
/** A row as the catalog allows it (20,000-character text and description, 50 labels) fits in this. */
const MAX_ROW_BYTES = 1024 * 1024;

const headerSchema = z.object({
  format: z.literal(ROWS_FORMAT),
  version: z.int().check(z.positive()),
  catalogFingerprint: z.string().check(z.regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits')),
  shard: z.int().check(z.nonnegative()),
  shards: z.int().check(z.positive()),
  itemStart: z.int().check(z.nonnegative()),
  itemCount: z.int().check(z.gte(1), z.lte(1_000_000)),
  totalItems: z.int().check(z.positive()),
  payloadSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
});

export type RowShardHeader = z.infer<typeof headerSchema>;
export type RowsProblem =
  'not-rows' | 'newer-version' | 'bad-header' | 'other-catalog' | 'wrong-range' | 'truncated' | 'too-long' | 'bad-checksum' | 'bad-values';

export class RowsError extends Error {
  override name = 'RowsError';
  constructor(
    readonly reason: RowsProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Where row shard `shard` of a catalog lives: next to the catalog, as its vector shards. */
export function rowShardUrl(catalogUrl: string, shard: number): string {
  const [path, ...rest] = catalogUrl.split(/(?=[?#])/);
  return `${path!.replace(/\.json$/i, '')}.rows-${shard}.bin${rest.join('')}`;
}

/** Where a catalog's columns file lives. */
export function columnsUrl(catalogUrl: string): string {
  const [path, ...rest] = catalogUrl.split(/(?=[?#])/);
  return `${path!.replace(/\.json$/i, '')}.columns${rest.join('')}`;
}

/** Writes rows itemStart … itemStart + items.length − 1 of a catalog whose columns are `columns`. */
export async function encodeRowShard(columns: CatalogColumns, shard: number, items: readonly CatalogItem[]): Promise<Uint8Array<ArrayBuffer>> {
  const per = columns.header.rowShardItems;
  const rows = items.map((item) => new TextEncoder().encode(JSON.stringify(item)));
  const ends = new Uint32Array(rows.length);
  let end = 0;
  rows.forEach((row, r) => (ends[r] = end += row.length));
  const payload = new Uint8Array(4 * rows.length + end);
  payload.set(new Uint8Array(ends.buffer), 0);
  let at = 4 * rows.length;
  for (const row of rows) {
    payload.set(row, at);
    at += row.length;
  }
  const header = {
    format: ROWS_FORMAT,
    version: ROWS_VERSION,
    catalogFingerprint: columns.fingerprint,
    shard,
    shards: Math.ceil(columns.size / per),
    itemStart: shard * per,
    itemCount: items.length,
    totalItems: columns.size,
    payloadSha256: await sha256Hex(payload),
  };
  const parsed = headerSchema.safeParse(header);
  if (!parsed.success) throw new RowsError('bad-header', `cannot write row shard ${shard}: ${describeIssues(parsed.error)}`);
  return writeJsonHeader(ROWS_MAGIC, new TextEncoder().encode(JSON.stringify(parsed.data)), payload);
}

/** A checked shard's layout: rows are read from its bytes (in memory or a stored file) by offset. */
export interface RowShardLayout {
  header: RowShardHeader;
  /** Byte offset of the rows (after the header and the ends) in the file. */
  rowsStart: number;
  ends: Uint32Array;
}

/** The header and the row ends from a file's first bytes, checked against the columns and the shard asked for. */
export function readRowShardLayout(bytes: Uint8Array, columns: CatalogColumns, shard: number, source = `catalog rows ${shard}`): RowShardLayout {
  const fail = (reason: RowsProblem, message: string): never => {
    throw new RowsError(reason, `${source}: ${message}`);
  };
  const magicMatches = ROWS_MAGIC.subarray(0, Math.min(bytes.length, ROWS_MAGIC.length)).every((b, i) => bytes[i] === b);
  if (!magicMatches || bytes.length === 0) fail('not-rows', 'not a catalog row shard (wrong magic bytes)');
  if (bytes.length < PREFIX_BYTES) fail('truncated', `truncated: ${bytes.length} bytes`);
  const { header, payloadStart } = readVersionedHeader(
    bytes,
    { magicLength: ROWS_MAGIC.length, prefixBytes: PREFIX_BYTES, maxHeaderBytes: MAX_HEADER_BYTES },
    { format: ROWS_FORMAT, version: ROWS_VERSION, noun: 'shard', schema: headerSchema },
    fail,
  );
  if (header.catalogFingerprint !== columns.fingerprint || header.totalItems !== columns.size)
    fail('other-catalog', 'it was built for another version of the catalog (its items differ)');
  const per = columns.header.rowShardItems;
  const count = Math.min(per, columns.size - shard * per);
  if (header.shard !== shard || header.itemStart !== shard * per || header.itemCount !== count) {
    fail(
      'wrong-range',
      `it is shard ${header.shard} (items ${header.itemStart}…${header.itemStart + header.itemCount - 1}), not shard ${shard} (items ${shard * per}…${shard * per + count - 1})`,
    );
  }
  const rowsStart = payloadStart + 4 * count;
  if (bytes.length < rowsStart) fail('truncated', `truncated: ${bytes.length} bytes, the row ends alone need ${rowsStart}`);
  const ends = new Uint32Array(bytes.slice(payloadStart, rowsStart).buffer);
  for (let r = 0; r < count; r++) {
    const start = r === 0 ? 0 : ends[r - 1]!;
    if (ends[r]! < start || ends[r]! - start > MAX_ROW_BYTES) fail('bad-values', `row ${r}'s end (${ends[r]}) is out of order or the row is too long`);
  }
  return { header, rowsStart, ends };
}

/** Parses and checks a whole row shard: framing, checksum, and every row (valid, and the item the columns list there). */
export async function decodeRowShard(bytes: Uint8Array, columns: CatalogColumns, shard: number, source = `catalog rows ${shard}`): Promise<RowShardLayout> {
  const layout = readRowShardLayout(bytes, columns, shard, source);
  const fail = (reason: RowsProblem, message: string): never => {
    throw new RowsError(reason, `${source}: ${message}`);
  };
  const expectedLength = layout.rowsStart + (layout.ends[layout.ends.length - 1] ?? 0);
  if (bytes.length < expectedLength) fail('truncated', `truncated: ${bytes.length} bytes, expected ${expectedLength}`);
  if (bytes.length > expectedLength) fail('too-long', `${bytes.length} bytes, longer than the ${expectedLength} its header describes`);
  const payloadStart = layout.rowsStart - 4 * layout.ends.length;
  if ((await sha256Hex(new Uint8Array(bytes.subarray(payloadStart)))) !== layout.header.payloadSha256) {
    fail('bad-checksum', 'the payload does not match its SHA-256 (damaged in transit or edited)');
  }
  const read = (offset: number, length: number) => bytes.subarray(offset, offset + length);
  for (let r = 0; r < layout.ends.length; r++) {
    const problem = rowProblem(readRow(layout, r, read), columns, layout.header.itemStart + r);
    if (problem) fail('bad-values', `row ${r}: ${problem}`);
  }
  return layout;
}

function readRow(layout: RowShardLayout, r: number, read: (offset: number, length: number) => Uint8Array): Uint8Array {
  const start = r === 0 ? 0 : layout.ends[r - 1]!;
  return read(layout.rowsStart + start, layout.ends[r]! - start);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The row as a catalog item, or why it cannot be item `index` of these columns. */
function parseRow(bytes: Uint8Array, columns: CatalogColumns, index: number): CatalogItem | string {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch {
    return 'not valid UTF-8 JSON';
  }
  const item = canonicalItem(raw) ?? catalogItemSchema.safeParse(raw).data;
  if (!item) return 'not a valid catalog row';
  if (item.id !== columns.id(index)) return `id "${item.id}", the columns list "${columns.id(index)}" there`;
  if (item.title !== columns.title(index)) return `its title differs from the columns'`;
  if (textHash(encoderText(item)) !== columns.textHash(index)) return `its text differs from the one the columns hash`;
  return item;
}

function rowProblem(bytes: Uint8Array, columns: CatalogColumns, index: number): string | undefined {
  const parsed = parseRow(bytes, columns, index);
  return typeof parsed === 'string' ? parsed : undefined;
}

/**
 * The rows a device holds, by catalog index: each checked shard's layout and a reader of its stored
 * bytes (an OPFS file's sync handle, or memory in tests). `item(i)` is undefined where the shard is not
 * stored yet or its row no longer checks (a damaged file): the caller shows the title from the columns.
 */
export class StoredRows {
  private readonly shards = new Map<number, { layout: RowShardLayout; read: (offset: number, length: number) => Uint8Array }>();

  constructor(readonly columns: CatalogColumns) {}

  add(layout: RowShardLayout, read: (offset: number, length: number) => Uint8Array): void {
    this.shards.set(layout.header.shard, { layout, read });
  }

  has(shard: number): boolean {
    return this.shards.has(shard);
  }

  item(index: number): CatalogItem | undefined {
    if (!(index >= 0 && index < this.columns.size)) return undefined;
    const stored = this.shards.get(Math.floor(index / this.columns.header.rowShardItems));
    if (!stored) return undefined;
    const parsed = parseRow(readRow(stored.layout, index - stored.layout.header.itemStart, stored.read), this.columns, index);
    return typeof parsed === 'string' ? undefined : parsed;
  }

  /** What the encoder reads for item `index`, when its row is stored. */
  encoderText(index: number): string | undefined {
    const item = this.item(index);
    return item && encoderText(item);
  }
}
