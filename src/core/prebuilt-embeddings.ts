/**
 * Precomputed catalog embeddings ("prebuilt" files): what `npm run catalog -- --embeddings` writes next
 * to a catalog, so a first visit does not have to read the whole catalog with the text model.
 *
 * File `<catalog>.<model id>.emb` (see prebuiltEmbeddingsUrl), little-endian throughout:
 *
 *   offset 0   8 bytes   magic "PRECEMB\n"
 *   offset 8   uint32    H: byte length of the JSON header
 *   offset 12  H bytes   header, UTF-8 JSON:
 *                          { "format": "private-recs-embeddings", "version": 1, "modelId": "use-lite-512",
 *                            "dimension": 512, "count": n, "catalog": "goodbooks-10k",
 *                            "checksum": "<8 hex digits: FNV-1a 32 of every byte after the header's padding>" }
 *   then zero bytes up to a multiple of 8 (the sections below stay aligned for typed-array views)
 *   n × 8 bytes   text hashes (core/hash textHash: 16 hex digits = 8 bytes each, big-endian per hash)
 *   n × 4 bytes   float32 scales, one per row
 *   n × d bytes   int8 codes, row after row: vector_i ≈ codes_i · scale_i (core/quantize, the same form
 *                 the IndexedDB cache stores, so a decoded row is exactly what a reload would read)
 *
 * Rows are matched to catalog items by the hash of their text, not by position: a catalog edited after
 * the build keeps the rows whose text did not change, and nothing else is used. The checksum catches a
 * file truncated or damaged in transit; the reader refuses it, as it refuses a newer version, a header
 * that does not describe the bytes, or scales that are not finite positive numbers.
 */
import { z } from './schema';
import { dequantizeRow, quantizeRows } from './quantize';
import { MAX_EMBEDDING_SCALE } from './limits';

export const PREBUILT_FORMAT = 'private-recs-embeddings';
export const PREBUILT_VERSION = 1;
const MAGIC = 'PRECEMB\n';
/** A header is a few hundred bytes; anything far larger is not one of ours (and is not parsed). */
const MAX_HEADER_BYTES = 64 * 1024;
/** Catalog texts of 10^6 items at 1,024 dimensions: 1 GB. Larger claims are refused before allocating. */
const MAX_COUNT = 1_000_000;
const MAX_DIMENSION = 4096;

const headerSchema = z.object({
  format: z.literal(PREBUILT_FORMAT),
  version: z.int().check(z.positive()),
  modelId: z.string().check(z.minLength(1), z.maxLength(200)),
  dimension: z.int().check(z.gte(1), z.lte(MAX_DIMENSION)),
  count: z.int().check(z.gte(0), z.lte(MAX_COUNT)),
  catalog: z.optional(z.string().check(z.maxLength(200))),
  checksum: z.string().check(z.regex(/^[0-9a-f]{8}$/)),
});

export type PrebuiltHeader = z.infer<typeof headerSchema>;

export interface PrebuiltEmbeddings {
  modelId: string;
  dimension: number;
  catalog?: string;
  /** textHash of each row's item text. */
  textHashes: string[];
  codes: Int8Array;
  scales: Float32Array;
}

/** A file that is present but cannot be used; the message says why, for a publisher to fix. */
export class PrebuiltFormatError extends Error {
  override name = 'PrebuiltFormatError';
}

/**
 * Where a catalog's prebuilt file for `modelId` lives: next to the catalog, its extension replaced.
 * Characters outside [A-Za-z0-9._-] in the id (e.g. the "/" of "Xenova/all-MiniLM-L6-v2") become "_",
 * so the file name stays one path segment.
 */
export function prebuiltEmbeddingsUrl(catalogUrl: string, modelId: string): string {
  const [path, ...rest] = catalogUrl.split(/(?=[?#])/);
  const safeId = modelId.replace(/[^A-Za-z0-9._-]/g, '_');
  const base = path!.replace(/\.json$/i, '');
  return `${base}.${safeId}.emb${rest.join('')}`;
}

/** FNV-1a over bytes, 32 bits: cheap, and enough to catch truncation or corruption (not an attacker). */
export function fnv1a32(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function hashToBytes(hash: string, out: Uint8Array, offset: number): void {
  if (!/^[0-9a-f]{16}$/.test(hash)) throw new PrebuiltFormatError(`"${hash}" is not a text hash (16 hex digits)`);
  for (let i = 0; i < 8; i++) out[offset + i] = Number.parseInt(hash.slice(2 * i, 2 * i + 2), 16);
}

function bytesToHash(bytes: Uint8Array, offset: number): string {
  let hex = '';
  for (let i = 0; i < 8; i++) hex += bytes[offset + i]!.toString(16).padStart(2, '0');
  return hex;
}

/** Quantises the rows and writes the file. Every vector must have `dimension` finite values. */
export function encodePrebuilt(input: {
  modelId: string;
  dimension: number;
  catalog?: string;
  rows: readonly { textHash: string; vector: Float32Array }[];
}): Uint8Array<ArrayBuffer> {
  const { modelId, dimension, rows } = input;
  for (const row of rows) {
    if (row.vector.length !== dimension) throw new PrebuiltFormatError(`a vector has ${row.vector.length} values, expected ${dimension}`);
    if (!row.vector.every(Number.isFinite)) throw new PrebuiltFormatError(`the vector for text ${row.textHash} has a NaN or infinite value`);
  }
  const { codes, scales } = quantizeRows(
    rows.map((row) => row.vector),
    dimension,
  );
  const n = rows.length;
  const payload = new Uint8Array(n * 8 + n * 4 + n * dimension);
  rows.forEach((row, i) => hashToBytes(row.textHash, payload, i * 8));
  const scaleView = new DataView(payload.buffer, n * 8, n * 4);
  scales.forEach((scale, i) => scaleView.setFloat32(i * 4, scale, true));
  payload.set(new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength), n * 12);
  const header: PrebuiltHeader = {
    format: PREBUILT_FORMAT,
    version: PREBUILT_VERSION,
    modelId,
    dimension,
    count: n,
    ...(input.catalog !== undefined ? { catalog: input.catalog } : {}),
    checksum: fnv1a32(payload),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const payloadStart = align8(12 + headerBytes.length);
  const file = new Uint8Array(payloadStart + payload.length);
  file.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(file.buffer).setUint32(8, headerBytes.length, true);
  file.set(headerBytes, 12);
  file.set(payload, payloadStart);
  return file;
}

/** Reads only the header (cheap): what a reader checks before trusting the rows. */
export function readPrebuiltHeader(file: Uint8Array): { header: PrebuiltHeader; payloadStart: number } {
  const magic = new TextDecoder().decode(file.subarray(0, 8));
  if (file.length === 0 || !MAGIC.startsWith(magic)) {
    throw new PrebuiltFormatError('not a precomputed embeddings file (it does not start with "PRECEMB")');
  }
  if (file.length < 12) throw new PrebuiltFormatError(`the file is truncated: ${file.length} bytes`);
  const headerLength = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES || 12 + headerLength > file.length) {
    throw new PrebuiltFormatError(`the file is truncated or damaged: its header claims ${headerLength} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(12, 12 + headerLength)));
  } catch {
    throw new PrebuiltFormatError('the file header is not valid JSON');
  }
  // The version is checked before the rest: a newer file may describe itself differently.
  const version = z.object({ format: z.literal(PREBUILT_FORMAT), version: z.int().check(z.positive()) }).safeParse(json);
  if (!version.success) throw new PrebuiltFormatError(`the file header is not a ${PREBUILT_FORMAT} header`);
  if (version.data.version > PREBUILT_VERSION) {
    throw new PrebuiltFormatError(
      `the file is version ${version.data.version}; this app reads version ${PREBUILT_VERSION} (rebuild it with this app's catalog tool)`,
    );
  }
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PrebuiltFormatError(`the file header is invalid: ${issue.path.join('.') || 'header'}: ${issue.message}`);
  }
  return { header: parsed.data, payloadStart: align8(12 + headerLength) };
}

/** Validates and decodes a whole file; throws PrebuiltFormatError with the reason otherwise. */
export function decodePrebuilt(file: Uint8Array): PrebuiltEmbeddings {
  const { header, payloadStart } = readPrebuiltHeader(file);
  const { count: n, dimension } = header;
  const expected = payloadStart + n * 8 + n * 4 + n * dimension;
  if (file.length !== expected) {
    throw new PrebuiltFormatError(
      `the file is ${file.length < expected ? 'truncated' : 'longer than its header says'}: ${file.length} bytes, expected ${expected} for ${n} rows of ${dimension}`,
    );
  }
  const payload = file.subarray(payloadStart);
  const checksum = fnv1a32(payload);
  if (checksum !== header.checksum) throw new PrebuiltFormatError(`the file is damaged: checksum ${checksum}, header says ${header.checksum}`);
  const textHashes = Array.from({ length: n }, (_, i) => bytesToHash(payload, i * 8));
  const scaleView = new DataView(payload.buffer, payload.byteOffset + n * 8, n * 4);
  const scales = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const scale = scaleView.getFloat32(i * 4, true);
    // quantizeRows never writes a negative or non-finite scale: such a row would decode to NaN or garbage.
    // (0 does occur: a row of float32 denormals underflows to it, and decodes to zeros, as in the cache.)
    // Nor one so large that its values would overflow a dot product (core/limits.ts).
    if (!Number.isFinite(scale) || scale < 0 || scale > MAX_EMBEDDING_SCALE) throw new PrebuiltFormatError(`row ${i} has an invalid scale (${scale})`);
    scales[i] = scale;
  }
  // A copy: the caller may keep the rows after the (possibly large) download buffer is dropped.
  // (new Uint8Array(view) copies; a Node Buffer's slice() would be a view whose .buffer starts elsewhere.)
  const codes = new Int8Array(new Uint8Array(payload.subarray(n * 12)).buffer);
  return { modelId: header.modelId, dimension, ...(header.catalog !== undefined ? { catalog: header.catalog } : {}), textHashes, codes, scales };
}

/** Row `row` as a float vector (the same values the IndexedDB cache would return for it). */
export function prebuiltRow(file: PrebuiltEmbeddings, row: number): Float32Array {
  return dequantizeRow(file.codes, file.scales, row, file.dimension);
}

/** The rows by text hash (the first row wins if a hash repeats: equal texts, equal vectors). */
export function prebuiltRowsByHash(file: PrebuiltEmbeddings): Map<string, number> {
  const rows = new Map<string, number>();
  file.textHashes.forEach((hash, row) => rows.has(hash) || rows.set(hash, row));
  return rows;
}
