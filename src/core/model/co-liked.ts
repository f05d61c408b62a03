/**
 * "Readers who liked X also liked": each catalog item's strongest neighbours by co-likes among the
 * publisher's readers (EASE's item-item weights for the default catalog, or cosine item-kNN: the
 * format holds either as non-negative weights), shipped beside the catalog as
 * `<catalog>.co-liked` and built by `npm run co-liked` from the training readers only. The feed adds
 * the neighbours of what the reader liked to the model's score (rankFeed, CO_LIKED_WEIGHT): the
 * factor model's 32 dimensions keep what readers read broadly; the neighbours keep which book follows
 * which, which the model smooths away (product bench, real readers).
 *
 * File: 8 magic bytes, u32 (little-endian) header length, the header (UTF-8 JSON), zero padding to a
 * multiple of 4, then itemCount×neighbours ids (u16, or u32 past 65,535 items; NONE pads a short row)
 * and itemCount×neighbours similarities as u8 (value/255 × maxSimilarity). The payload's SHA-256 is in
 * the header.
 */
import { describeIssues, z } from '../schema';
import { readJsonHeader, sha256Hex, writeJsonHeader } from '../federated/format';

export const CO_LIKED_FORMAT = 'private-recs-co-liked';
export const CO_LIKED_VERSION = 1;
export const CO_LIKED_MAGIC = Uint8Array.from([0x89, 0x50, 0x52, 0x43, 0x4f, 0x4c, 0x0d, 0x0a]);
const PREFIX_BYTES = CO_LIKED_MAGIC.length + 4;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_ITEMS = 2_000_000;
const MAX_NEIGHBOURS = 1000;

const headerSchema = z.object({
  format: z.literal(CO_LIKED_FORMAT),
  version: z.literal(CO_LIKED_VERSION),
  /** catalogFingerprint of the item ids in order: rows and ids are catalog indices. */
  catalogFingerprint: z.string().check(z.minLength(1), z.maxLength(200)),
  catalog: z.optional(z.string().check(z.maxLength(200))),
  itemCount: z.int().check(z.gte(1), z.lte(MAX_ITEMS)),
  neighbours: z.int().check(z.gte(1), z.lte(MAX_NEIGHBOURS)),
  idBytes: z.union([z.literal(2), z.literal(4)]),
  /** The largest similarity, which the u8 255 stands for. */
  maxSimilarity: z.number().check(z.gt(0), z.lte(1)),
  /** How many readers' likes it was built from. */
  readers: z.int().check(z.gte(0)),
  description: z.string().check(z.minLength(1), z.maxLength(200)),
  payloadSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
});

export type CoLikedHeader = z.infer<typeof headerSchema>;

export class CoLikedError extends Error {
  override name = 'CoLikedError';
}

/** Each item's neighbours: row i holds `neighbours` ids (NONE where the row is short) and u8 similarities. */
export interface CoLikedNeighbours {
  itemCount: number;
  neighbours: number;
  ids: Uint16Array | Uint32Array;
  /** similarity = codes × scale. */
  codes: Uint8Array;
  scale: number;
  description: string;
}

/** Where a catalog's neighbours live: next to the catalog, its extension replaced (as its .emb and .global). */
export function coLikedUrl(catalogUrl: string): string {
  const [path, ...rest] = catalogUrl.split(/(?=[?#])/);
  return `${path!.replace(/\.json$/i, '')}.co-liked${rest.join('')}`;
}

const noneFor = (idBytes: 2 | 4) => (idBytes === 2 ? 0xffff : 0xffffffff);

/**
 * The `neighbours` strongest cosine neighbours of each item from per-reader like lists (item indices):
 * cos(a, b) = co-likes(a, b) / √(likes(a)·likes(b)). Memory itemCount² floats: for a publisher's
 * machine (10,000 items: 400 MB), not for a device.
 */
export function buildCoLiked(
  likesPerReader: readonly (readonly number[])[],
  itemCount: number,
  neighbours: number,
): { ids: Uint32Array; similarities: Float32Array } {
  const degree = new Float64Array(itemCount);
  const co = new Float32Array(itemCount * itemCount);
  for (const list of likesPerReader) {
    const items = [...new Set(list)].filter((item) => item >= 0 && item < itemCount);
    for (const a of items) {
      degree[a]!++;
      for (const b of items) if (a !== b) co[a * itemCount + b]!++;
    }
  }
  const ids = new Uint32Array(itemCount * neighbours).fill(0xffffffff);
  const similarities = new Float32Array(itemCount * neighbours);
  for (let a = 0; a < itemCount; a++) {
    const row: { b: number; s: number }[] = [];
    for (let b = 0; b < itemCount; b++) {
      const c = co[a * itemCount + b]!;
      if (c > 0) row.push({ b, s: c / Math.sqrt(degree[a]! * degree[b]!) });
    }
    row.sort((x, y) => y.s - x.s || x.b - y.b);
    row.slice(0, neighbours).forEach(({ b, s }, k) => {
      ids[a * neighbours + k] = b;
      similarities[a * neighbours + k] = s;
    });
  }
  return { ids, similarities };
}

export async function encodeCoLiked(
  info: Pick<CoLikedHeader, 'catalogFingerprint' | 'catalog' | 'readers' | 'description'>,
  table: { ids: Uint32Array; similarities: Float32Array; itemCount: number; neighbours: number },
): Promise<Uint8Array<ArrayBuffer>> {
  const { itemCount, neighbours } = table;
  const idBytes = itemCount <= 0xfffe ? 2 : 4;
  const none = noneFor(idBytes);
  const ids = idBytes === 2 ? new Uint16Array(itemCount * neighbours) : new Uint32Array(itemCount * neighbours);
  table.ids.forEach((id, k) => (ids[k] = id === 0xffffffff ? none : id));
  let maxSimilarity = 0;
  for (const s of table.similarities) if (s > maxSimilarity) maxSimilarity = s;
  if (!(maxSimilarity > 0 && maxSimilarity <= 1)) throw new CoLikedError(`similarities must be in (0, 1]; the largest is ${maxSimilarity}`);
  const codes = Uint8Array.from(table.similarities, (s) => Math.round((255 * Math.max(0, s)) / maxSimilarity));
  const idBytesTotal = ids.byteLength;
  const payload = new Uint8Array(Math.ceil(idBytesTotal / 4) * 4 + codes.length);
  payload.set(new Uint8Array(ids.buffer), 0);
  payload.set(codes, Math.ceil(idBytesTotal / 4) * 4);
  const header: CoLikedHeader = {
    ...info,
    format: CO_LIKED_FORMAT,
    version: CO_LIKED_VERSION,
    itemCount,
    neighbours,
    idBytes,
    maxSimilarity,
    payloadSha256: await sha256Hex(payload),
  };
  return writeJsonHeader(CO_LIKED_MAGIC, new TextEncoder().encode(JSON.stringify(header)), payload);
}

/** Parses and checks a file for the catalog `expected` describes; throws CoLikedError saying why it cannot be used. */
export async function decodeCoLiked(
  bytes: Uint8Array,
  expected: { catalogFingerprint: string; itemCount: number },
  source = 'co-liked file',
): Promise<CoLikedNeighbours> {
  const fail = (message: string): never => {
    throw new CoLikedError(`${source}: ${message}`);
  };
  if (bytes.length < PREFIX_BYTES || CO_LIKED_MAGIC.some((b, i) => bytes[i] !== b)) fail('not a co-liked neighbours file');
  const { json, headerLength } = readJsonHeader(
    bytes,
    { magicLength: CO_LIKED_MAGIC.length, prefixBytes: PREFIX_BYTES, maxHeaderBytes: MAX_HEADER_BYTES },
    fail,
    (n) => `truncated: the header claims ${n} bytes`,
  );
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) return fail(`the header is invalid (${describeIssues(parsed.error)})`);
  const header = parsed.data;
  if (header.catalogFingerprint !== expected.catalogFingerprint || header.itemCount !== expected.itemCount)
    fail('it was built for another catalog (or another version of this one)');
  const cells = header.itemCount * header.neighbours;
  const idsBytes = Math.ceil((cells * header.idBytes) / 4) * 4;
  const start = Math.ceil((PREFIX_BYTES + headerLength) / 4) * 4;
  if (bytes.length !== start + idsBytes + cells) fail(`its size is ${bytes.length} bytes; the header says ${start + idsBytes + cells}`);
  // A copy, aligned (a Node Buffer or a view may start at any offset).
  const payload = new Uint8Array(bytes.subarray(start));
  if ((await sha256Hex(payload)) !== header.payloadSha256) fail('the payload does not match its checksum (damaged or edited)');
  const ids = header.idBytes === 2 ? new Uint16Array(payload.buffer, 0, cells) : new Uint32Array(payload.buffer, 0, cells);
  const none = noneFor(header.idBytes);
  for (const id of ids) if (id !== none && id >= header.itemCount) fail(`a neighbour id (${id}) is outside the catalog`);
  return {
    itemCount: header.itemCount,
    neighbours: header.neighbours,
    ids,
    codes: payload.subarray(idsBytes),
    scale: header.maxSimilarity / 255,
    description: header.description,
  };
}

/** Σ over the liked items of their neighbours' similarities, per item (catalog order), into `out`. */
export function coLikedScores(table: CoLikedNeighbours, liked: Iterable<number>, out: Float32Array): Float32Array {
  out.fill(0);
  const { neighbours, ids, codes, scale, itemCount } = table;
  for (const item of new Set(liked)) {
    if (item < 0 || item >= itemCount) continue;
    for (let k = item * neighbours, end = k + neighbours; k < end; k++) {
      const id = ids[k]!;
      if (id < out.length && id < itemCount) out[id]! += codes[k]! * scale;
    }
  }
  return out;
}

/** The similarity of `item` in `liked`'s neighbour row (0 when it is not a neighbour). */
export function coLikedSimilarity(table: CoLikedNeighbours, liked: number, item: number): number {
  if (liked < 0 || liked >= table.itemCount) return 0;
  for (let k = liked * table.neighbours, end = k + table.neighbours; k < end; k++) if (table.ids[k] === item) return table.codes[k]! * table.scale;
  return 0;
}
