/**
 * Precomputed item vectors at catalog scale, in shards (issue 21): a publisher cuts the catalog's
 * text vectors into files of SHARD_ITEMS items each, `<catalog>.<model id>.shard-<n>.emb` (shardUrl), so
 * a device fetches only what it needs, resumes shard by shard, and checks each one on its own.
 *
 * File (little-endian): 8 magic bytes 0x89 'P' 'R' 'S' 'H' 'D' '\r' '\n', u32 header length, the
 * header (UTF-8 JSON, schema below), zero padding to a multiple of 4, then the payload:
 *   itemCount × 8 bytes   text hashes (core/hash textHash, 16 hex digits each): which text a row is for,
 *                         so a row whose item's text changed since the build is not used
 *   itemCount × 4 bytes   float32 scales, one per row
 *   itemCount × dim bytes int8 codes, row after row: vector ≈ codes · scale (core/quantize, the form the
 *                         app stores and ranks with)
 * The header names the model, the catalog's fingerprint (core/model/identity catalogFingerprint of
 * the item ids in order: row r is catalog item itemStart + r), the item range and the payload's
 * SHA-256. The reader refuses a shard for another model or catalog version before it reads the payload,
 * and every refusal is a ShardError whose `reason` a caller can branch on and whose message names it.
 */
import { describeIssues, z } from '../schema';
import { readVersionedHeader, sha256Hex, writeJsonHeader } from '../federated/format';
import { MAX_EMBEDDING_SCALE } from '../limits';
import { quantizeRows } from '../quantize';

export const SHARD_FORMAT = 'private-recs-shard';
export const SHARD_VERSION = 1;
export const SHARD_MAGIC = Uint8Array.from([0x89, 0x50, 0x52, 0x53, 0x48, 0x44, 0x0d, 0x0a]);
/** Items per shard: 50,000 × (512 + 12) bytes ≈ 25 MiB, one download a phone finishes or resumes. */
export const SHARD_ITEMS = 50_000;
const PREFIX_BYTES = SHARD_MAGIC.length + 4;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_ITEMS = 10_000_000;
const MAX_SHARD_ITEMS = 1_000_000;
const MAX_DIMENSION = 4096;

const headerSchema = z.object({
  format: z.literal(SHARD_FORMAT),
  version: z.int().check(z.positive()),
  modelId: z.string().check(z.minLength(1), z.maxLength(200)),
  catalogFingerprint: z.string().check(z.minLength(1), z.maxLength(200)),
  catalog: z.optional(z.string().check(z.maxLength(200))),
  /** Which shard of how many (0-based). */
  shard: z.int().check(z.nonnegative()),
  shards: z.int().check(z.positive()),
  /** Catalog index of row 0, rows in this file, items in the whole catalog. */
  itemStart: z.int().check(z.nonnegative()),
  itemCount: z.int().check(z.gte(0), z.lte(MAX_SHARD_ITEMS)),
  totalItems: z.int().check(z.gte(0), z.lte(MAX_ITEMS)),
  dimension: z.int().check(z.gte(1), z.lte(MAX_DIMENSION)),
  encoding: z.literal('int8-row-scale'),
  payloadSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
});

export type ShardHeader = z.infer<typeof headerSchema>;
export type ShardInfo = Omit<ShardHeader, 'format' | 'version' | 'itemCount' | 'dimension' | 'encoding' | 'payloadSha256'>;

/** Why a shard cannot be used: a caller branches on this (re-download, embed on the device, give up). */
export type ShardProblem =
  'not-a-shard' | 'newer-version' | 'bad-header' | 'other-model' | 'other-catalog' | 'wrong-range' | 'truncated' | 'too-long' | 'bad-checksum' | 'bad-values';

export class ShardError extends Error {
  override name = 'ShardError';
  constructor(
    readonly reason: ShardProblem,
    message: string,
  ) {
    super(message);
  }
}

/** What the device expects of a shard: its model and catalog, and the vector size. */
export interface ShardExpectation {
  modelId: string;
  catalogFingerprint: string;
  dimension?: number;
  totalItems?: number;
  /** The shard the device asked for (its index): a file served under another shard's name is refused. */
  shard?: number;
}

export interface Shard {
  header: ShardHeader;
  textHashes: string[];
  codes: Int8Array;
  scales: Float32Array;
}

/** The shards of a catalog of `totalItems`: index, first item, item count. */
export function planShards(totalItems: number, perShard = SHARD_ITEMS): { shard: number; itemStart: number; itemCount: number }[] {
  if (!(perShard >= 1)) throw new RangeError(`a shard holds at least one item, got ${perShard}`);
  const count = Math.max(1, Math.ceil(totalItems / perShard));
  return Array.from({ length: count }, (_, shard) => ({
    shard,
    itemStart: shard * perShard,
    itemCount: Math.max(0, Math.min(perShard, totalItems - shard * perShard)),
  }));
}

/** Where shard `shard` of a catalog's vectors for `modelId` lives: next to the catalog (as its .emb). */
export function shardUrl(catalogUrl: string, modelId: string, shard: number): string {
  const [path, ...rest] = catalogUrl.split(/(?=[?#])/);
  const safeId = modelId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${path!.replace(/\.json$/i, '')}.${safeId}.shard-${shard}.emb${rest.join('')}`;
}

const payloadBytes = (n: number, dimension: number) => n * 8 + n * 4 + n * dimension;

function hashToBytes(hash: string, out: Uint8Array, offset: number): void {
  if (!/^[0-9a-f]{16}$/.test(hash)) throw new ShardError('bad-values', `"${hash}" is not a text hash (16 hex digits)`);
  for (let i = 0; i < 8; i++) out[offset + i] = Number.parseInt(hash.slice(2 * i, 2 * i + 2), 16);
}

function bytesToHash(bytes: Uint8Array, offset: number): string {
  let hex = '';
  for (let i = 0; i < 8; i++) hex += bytes[offset + i]!.toString(16).padStart(2, '0');
  return hex;
}

/** Writes a shard from int8 rows (codes row-major itemCount × dimension, one scale per row). */
export async function encodeShard(
  info: ShardInfo,
  rows: { textHashes: readonly string[]; codes: Int8Array; scales: Float32Array; dimension: number },
): Promise<Uint8Array<ArrayBuffer>> {
  const n = rows.textHashes.length;
  const { dimension } = rows;
  if (rows.scales.length !== n || rows.codes.length !== n * dimension) {
    throw new ShardError('bad-values', `${n} text hashes, ${rows.scales.length} scales and ${rows.codes.length} codes do not make rows of ${dimension}`);
  }
  const payload = new Uint8Array(payloadBytes(n, dimension));
  rows.textHashes.forEach((hash, i) => hashToBytes(hash, payload, i * 8));
  const view = new DataView(payload.buffer);
  rows.scales.forEach((scale, i) => view.setFloat32(n * 8 + i * 4, scale, true));
  payload.set(new Uint8Array(rows.codes.buffer, rows.codes.byteOffset, rows.codes.byteLength), n * 12);
  const candidate = {
    ...info,
    format: SHARD_FORMAT,
    version: SHARD_VERSION,
    itemCount: n,
    dimension,
    encoding: 'int8-row-scale',
    payloadSha256: await sha256Hex(payload),
  };
  const parsed = headerSchema.safeParse(candidate);
  if (!parsed.success) throw new ShardError('bad-header', `cannot write the shard: invalid header (${describeIssues(parsed.error)})`);
  if (parsed.data.itemStart + n > parsed.data.totalItems)
    throw new ShardError(
      'wrong-range',
      `cannot write the shard: items ${parsed.data.itemStart}…${parsed.data.itemStart + n - 1} exceed the catalog's ${parsed.data.totalItems}`,
    );
  return writeJsonHeader(SHARD_MAGIC, new TextEncoder().encode(JSON.stringify(parsed.data)), payload);
}

/** Quantises float rows (core/quantize) and writes them as a shard. */
export async function encodeShardFromFloats(
  info: ShardInfo,
  rows: readonly { textHash: string; vector: Float32Array }[],
  dimension: number,
): Promise<Uint8Array<ArrayBuffer>> {
  for (const row of rows) {
    if (row.vector.length !== dimension || !row.vector.every(Number.isFinite))
      throw new ShardError('bad-values', `the vector for text ${row.textHash} is not ${dimension} finite values`);
  }
  const { codes, scales } = quantizeRows(
    rows.map((row) => row.vector),
    dimension,
  );
  return encodeShard(info, { textHashes: rows.map((row) => row.textHash), codes, scales, dimension });
}

/**
 * The header alone, checked against what the device expects: enough to refuse a shard for another
 * model or catalog from its first bytes (a ranged request) before downloading the rest.
 */
export function readShardHeader(bytes: Uint8Array, expected: ShardExpectation, source = 'shard'): { header: ShardHeader; payloadStart: number } {
  const fail = (reason: ShardProblem, message: string): never => {
    throw new ShardError(reason, `${source}: ${message}`);
  };
  if (bytes.length < PREFIX_BYTES) {
    // A file cut inside its first 12 bytes is still recognisably ours if what is there matches.
    if (bytes.length > 0 && SHARD_MAGIC.subarray(0, bytes.length).every((b, i) => bytes[i] === b)) fail('truncated', `truncated: ${bytes.length} bytes`);
    fail('not-a-shard', 'not a vector shard (wrong magic bytes)');
  }
  if (SHARD_MAGIC.some((b, i) => bytes[i] !== b)) fail('not-a-shard', 'not a vector shard (wrong magic bytes)');
  const { header, payloadStart } = readVersionedHeader(
    bytes,
    { magicLength: SHARD_MAGIC.length, prefixBytes: PREFIX_BYTES, maxHeaderBytes: MAX_HEADER_BYTES },
    { format: SHARD_FORMAT, version: SHARD_VERSION, noun: 'shard', schema: headerSchema },
    fail,
  );
  if (header.modelId !== expected.modelId) fail('other-model', `it holds vectors of the model ${header.modelId}, not ${expected.modelId}`);
  if (header.catalogFingerprint !== expected.catalogFingerprint || (expected.totalItems !== undefined && header.totalItems !== expected.totalItems)) {
    fail('other-catalog', 'it was built for another version of the catalog (its items differ)');
  }
  if (expected.dimension !== undefined && header.dimension !== expected.dimension)
    fail('other-model', `its vectors have ${header.dimension} dimensions, the model ${expected.dimension}`);
  if (header.itemStart + header.itemCount > header.totalItems || header.shard >= header.shards) {
    fail(
      'wrong-range',
      `shard ${header.shard} of ${header.shards} claims items ${header.itemStart}…${header.itemStart + header.itemCount - 1} of ${header.totalItems}`,
    );
  }
  if (expected.shard !== undefined && header.shard !== expected.shard) fail('wrong-range', `it is shard ${header.shard}, not shard ${expected.shard}`);
  return { header, payloadStart };
}

/** Parses and checks a whole shard; throws ShardError (reason and message) when it cannot be used. */
export async function decodeShard(bytes: Uint8Array, expected: ShardExpectation, source = 'shard'): Promise<Shard> {
  const { header, payloadStart } = readShardHeader(bytes, expected, source);
  const fail = (reason: ShardProblem, message: string): never => {
    throw new ShardError(reason, `${source}: ${message}`);
  };
  const n = header.itemCount;
  const expectedLength = payloadStart + payloadBytes(n, header.dimension);
  if (bytes.length < expectedLength) fail('truncated', `truncated: ${bytes.length} bytes, expected ${expectedLength} for ${n} rows of ${header.dimension}`);
  if (bytes.length > expectedLength) fail('too-long', `${bytes.length} bytes, longer than the ${expectedLength} its header describes`);
  // A copy, aligned (a Node Buffer or a view may start anywhere); the caller may drop the download.
  const payload = new Uint8Array(bytes.subarray(payloadStart));
  if ((await sha256Hex(payload)) !== header.payloadSha256) fail('bad-checksum', 'the payload does not match its SHA-256 (damaged in transit or edited)');
  const textHashes = Array.from({ length: n }, (_, i) => bytesToHash(payload, i * 8));
  const view = new DataView(payload.buffer, n * 8, n * 4);
  const scales = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const scale = view.getFloat32(i * 4, true);
    if (!Number.isFinite(scale) || scale < 0 || scale > MAX_EMBEDDING_SCALE) fail('bad-values', `row ${i} has an invalid scale (${scale})`);
    scales[i] = scale;
  }
  return { header, textHashes, codes: new Int8Array(payload.buffer, n * 12, n * header.dimension), scales };
}
