/**
 * The shipped global model: the publisher's W, q, b (and the ranker's starting weights) trained on many
 * readers (`npm run train-global`), in a compact file beside the catalog, so a first visit starts from
 * what those readers taught the model instead of the catalog text alone. The device still fits only u.
 *
 * File `<catalog>.<model id>.global` (see shippedGlobalUrl), little-endian throughout:
 *
 *   offset 0   8 bytes  magic: 0x89 'P' 'R' 'G' 'L' 'O' '\r' '\n' (PNG-style, as the federated file)
 *   offset 8   uint32   H: byte length of the JSON header
 *   offset 12  H bytes  header, UTF-8 JSON (schema below: model id, catalog fingerprint, sizes, the
 *                       readers it was trained on, the payload's SHA-256), then zero bytes to a multiple of 8
 *   payload    n × 4    float32 scale of each row of q
 *              r × 4    float32 ranker weights (r = rankerFeatures), then 4 bytes: the ranker's bias
 *              d×D × 2  float16 W, row-major (d factors × D embedding dimensions)
 *              n × 2    float16 b
 *              n×d × 1  int8 q, row after row: q_i ≈ codes_i · scale_i (core/quantize)
 *   optional   I bytes  the n item ids, UTF-8, joined by '\n', when the header has `itemIds` (its byte
 *                       length and SHA-256): the rows by id, for a catalog at scale that reads only the
 *                       items the file lists (the head) and not the rows in its own catalog order
 *
 * At 10,000 items, d = 32, D = 512: 40 + 32 + 32 + 20 + 320 KB ≈ 445 KB, against 1.4 MB as the
 * federated float32 file. What the rounding costs: fp16 keeps ~3 significant digits of W and b, int8
 * ~2.5 of each q row relative to its largest value; scores move by well under the gaps that order a
 * feed (the test measures it against the float32 parameters).
 *
 * The file is fetched from the app's origin, but a damaged or stale file must never break the feed:
 * the decoder checks sizes before allocating, the header against its schema, the length exactly, the
 * checksum, and every decoded value for NaN/Inf; every refusal is a ShippedGlobalError naming why.
 * Whether it fits this app's model (model id, catalog, dimensions) is the opener's check (PersonalModel).
 */
import { describeIssues, z } from '../schema';
import { readJsonHeader, sha256Hex } from '../federated/format';
import type { ParamSet } from '../federated/params';
import { quantizeRows } from '../quantize';
import { PARAM_B, PARAM_Q, PARAM_RANKER_BIAS, PARAM_RANKER_WEIGHTS, PARAM_W } from './hybrid';

export const SHIPPED_GLOBAL_FORMAT = 'private-recs-global';
export const SHIPPED_GLOBAL_VERSION = 1;
export const SHIPPED_GLOBAL_MAGIC = Uint8Array.from([0x89, 0x50, 0x52, 0x47, 0x4c, 0x4f, 0x0d, 0x0a]);
const PREFIX_BYTES = SHIPPED_GLOBAL_MAGIC.length + 4;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_ITEMS = 1_000_000;
const MAX_FACTORS = 1024;
const MAX_EMBEDDING_DIM = 4096;
const MAX_RANKER_FEATURES = 64;
/** The ids section's bound: 1,000,000 ids of up to ~200 bytes each. */
const MAX_ITEM_ID_BYTES = 200 * MAX_ITEMS;
/** The largest finite float16. */
const FLOAT16_MAX = 65504;

const headerSchema = z.object({
  format: z.literal(SHIPPED_GLOBAL_FORMAT),
  version: z.literal(SHIPPED_GLOBAL_VERSION),
  /** The app's model id (modelIdFor(encoder, factors)): a file for another encoder or factor count is not used. */
  modelId: z.string().check(z.minLength(1), z.maxLength(200)),
  /** catalogFingerprint of the item ids in order: q's and b's rows follow them. */
  catalogFingerprint: z.string().check(z.minLength(1), z.maxLength(200)),
  /** The catalog's name, for messages. */
  catalog: z.optional(z.string().check(z.maxLength(200))),
  itemCount: z.int().check(z.gte(1), z.lte(MAX_ITEMS)),
  factors: z.int().check(z.gte(1), z.lte(MAX_FACTORS)),
  embeddingDim: z.int().check(z.gte(1), z.lte(MAX_EMBEDDING_DIM)),
  rankerFeatures: z.int().check(z.gte(1), z.lte(MAX_RANKER_FEATURES)),
  /** How many readers' ratings it was trained on. */
  readers: z.int().check(z.gte(0)),
  /** What the app shows as the model's origin, e.g. "trained on 42,739 readers of goodbooks-10k". */
  description: z.string().check(z.minLength(1), z.maxLength(200)),
  /** The training run's settings and validation figures, for people (not read by the app). */
  training: z.optional(z.record(z.string().check(z.maxLength(100)), z.union([z.number(), z.string().check(z.maxLength(500)), z.boolean()]))),
  payloadSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
  /** The item ids section after the payload (optional): its length in bytes and its SHA-256. */
  itemIds: z.optional(
    z.object({
      bytes: z.int().check(z.gte(1), z.lte(MAX_ITEM_ID_BYTES)),
      sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
    }),
  ),
});

export type ShippedGlobalHeader = z.infer<typeof headerSchema>;
export type ShippedGlobalInfo = Omit<
  ShippedGlobalHeader,
  'format' | 'version' | 'itemCount' | 'factors' | 'embeddingDim' | 'rankerFeatures' | 'payloadSha256' | 'itemIds'
>;

export class ShippedGlobalError extends Error {
  override name = 'ShippedGlobalError';
}

/**
 * Where a catalog's shipped global model for `modelId` lives: next to the catalog, its extension
 * replaced (as the precomputed embeddings' .emb). Characters outside [A-Za-z0-9._-] become "_".
 */
export function shippedGlobalUrl(catalogUrl: string, modelId: string): string {
  const [path, ...rest] = catalogUrl.split(/(?=[?#])/);
  const safeId = modelId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${path!.replace(/\.json$/i, '')}.${safeId}.global${rest.join('')}`;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of x, rounded to nearest even (overflow gives ±Infinity; the encoder refuses it first). */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function payloadBytes(n: number, d: number, D: number, r: number): number {
  return n * 4 + (r + 1) * 4 + d * D * 2 + n * 2 + n * d;
}

function tensor(params: ParamSet, name: string, shape: number[]): Float32Array {
  const t = params[name];
  if (!t || t.shape.length !== shape.length || t.shape.some((x, i) => x !== shape[i]) || t.values.length !== shape.reduce((a, x) => a * x, 1)) {
    throw new ShippedGlobalError(`cannot write the file: parameter '${name}' should have shape [${shape.join(', ')}]`);
  }
  return t.values;
}

/**
 * Writes the shared parameters (HybridModel.getParams()) compactly. Refuses non-finite values and values
 * beyond float16. With `itemIds` (one per row of q, no '\n' in any), the file lists its rows by id.
 */
export async function encodeShippedGlobal(info: ShippedGlobalInfo, params: ParamSet, itemIds?: readonly string[]): Promise<Uint8Array<ArrayBuffer>> {
  const W = params[PARAM_W];
  if (!W || W.shape.length !== 2) throw new ShippedGlobalError(`cannot write the file: no ${PARAM_W} (d × D)`);
  const [d, D] = W.shape as [number, number];
  const q = params[PARAM_Q];
  if (!q || q.shape.length !== 2) throw new ShippedGlobalError(`cannot write the file: no ${PARAM_Q} (items × d)`);
  const n = q.shape[0]!;
  const rankerWeights = params[PARAM_RANKER_WEIGHTS];
  const r = rankerWeights?.values.length ?? 0;
  const values = {
    W: tensor(params, PARAM_W, [d, D]),
    q: tensor(params, PARAM_Q, [n, d]),
    b: tensor(params, PARAM_B, [n]),
    rankerWeights: tensor(params, PARAM_RANKER_WEIGHTS, [r]),
    rankerBias: tensor(params, PARAM_RANKER_BIAS, [1]),
  };
  for (const [name, array] of Object.entries(values)) {
    const bad = array.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new ShippedGlobalError(`cannot write the file: ${name} has a non-finite value at index ${bad}`);
  }
  for (const [name, array] of [
    ['W', values.W],
    ['b', values.b],
  ] as const) {
    const big = array.findIndex((x) => Math.abs(x) > FLOAT16_MAX);
    if (big >= 0) throw new ShippedGlobalError(`cannot write the file: ${name}[${big}] = ${array[big]} does not fit a float16`);
  }
  const payload = new Uint8Array(payloadBytes(n, d, D, r));
  const view = new DataView(payload.buffer);
  const rows = Array.from({ length: n }, (_, i) => values.q.subarray(i * d, (i + 1) * d));
  const { codes, scales } = quantizeRows(rows, d);
  let offset = 0;
  for (const scale of scales) {
    view.setFloat32(offset, scale, true);
    offset += 4;
  }
  for (const x of values.rankerWeights) {
    view.setFloat32(offset, x, true);
    offset += 4;
  }
  view.setFloat32(offset, values.rankerBias[0]!, true);
  offset += 4;
  for (const x of values.W) {
    view.setUint16(offset, toFloat16Bits(x), true);
    offset += 2;
  }
  for (const x of values.b) {
    view.setUint16(offset, toFloat16Bits(x), true);
    offset += 2;
  }
  payload.set(new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength), offset);
  if (itemIds && (itemIds.length !== n || itemIds.some((id) => id.length === 0 || id.includes('\n')))) {
    throw new ShippedGlobalError(`cannot write the file: ${n} non-empty item ids without line breaks are needed, one per row of q`);
  }
  const ids = itemIds ? new TextEncoder().encode(itemIds.join('\n')) : undefined;

  const candidate = {
    ...info,
    format: SHIPPED_GLOBAL_FORMAT,
    version: SHIPPED_GLOBAL_VERSION,
    itemCount: n,
    factors: d,
    embeddingDim: D,
    rankerFeatures: r,
    payloadSha256: await sha256Hex(payload),
    ...(ids ? { itemIds: { bytes: ids.length, sha256: await sha256Hex(ids) } } : {}),
  };
  const parsed = headerSchema.safeParse(candidate);
  if (!parsed.success) throw new ShippedGlobalError(`cannot write the file: invalid header (${describeIssues(parsed.error)})`);
  const header = new TextEncoder().encode(JSON.stringify(parsed.data));
  if (header.length > MAX_HEADER_BYTES) throw new ShippedGlobalError('cannot write the file: the header is larger than 64 KiB');
  const start = align8(PREFIX_BYTES + header.length);
  const file = new Uint8Array(start + payload.length + (ids?.length ?? 0));
  file.set(SHIPPED_GLOBAL_MAGIC, 0);
  new DataView(file.buffer).setUint32(SHIPPED_GLOBAL_MAGIC.length, header.length, true);
  file.set(header, PREFIX_BYTES);
  file.set(payload, start);
  if (ids) file.set(ids, start + payload.length);
  return file;
}

/**
 * Parses and checks a file; `source` (its URL or name) prefixes every message. Returns the header and
 * the parameters under HybridModel's names, ready for setParams, and the rows' item ids when the file lists them.
 */
export async function decodeShippedGlobal(
  bytes: Uint8Array,
  source = 'global model file',
): Promise<{ header: ShippedGlobalHeader; params: ParamSet; itemIds?: string[] }> {
  const fail = (message: string): never => {
    throw new ShippedGlobalError(`${source}: ${message}`);
  };
  if (bytes.length < PREFIX_BYTES || !SHIPPED_GLOBAL_MAGIC.every((b, i) => bytes[i] === b))
    fail('not a shipped global model file (wrong magic bytes or too short)');
  const { json, headerLength } = readJsonHeader(
    bytes,
    { magicLength: SHIPPED_GLOBAL_MAGIC.length, prefixBytes: PREFIX_BYTES, maxHeaderBytes: MAX_HEADER_BYTES },
    fail,
    () => 'the file is truncated inside its header',
  );
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > SHIPPED_GLOBAL_VERSION) fail(`the file is version ${version}; this app reads version ${SHIPPED_GLOBAL_VERSION}`);
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) fail(`invalid header (${describeIssues(parsed.error)})`);
  const header = parsed.data!;
  const { itemCount: n, factors: d, embeddingDim: D, rankerFeatures: r } = header;
  const start = align8(PREFIX_BYTES + headerLength);
  const end = start + payloadBytes(n, d, D, r);
  const expected = end + (header.itemIds?.bytes ?? 0);
  if (bytes.length !== expected) fail(`the file has ${bytes.length} bytes; its header describes ${expected}`);
  // A copy of its own: a Node Buffer's slice() is a view into a shared pool, whose .buffer starts elsewhere.
  const payload = new Uint8Array(bytes.subarray(start, end));
  if ((await sha256Hex(payload)) !== header.payloadSha256) fail('the checksum does not match: the file is damaged or was edited');
  const itemIds = header.itemIds ? await decodeItemIds(new Uint8Array(bytes.subarray(end)), header.itemIds.sha256, n, fail) : undefined;

  const data = new DataView(payload.buffer);
  let offset = 0;
  const scales = new Float32Array(n);
  for (let i = 0; i < n; i++, offset += 4) scales[i] = data.getFloat32(offset, true);
  const rankerWeights = new Float32Array(r);
  for (let i = 0; i < r; i++, offset += 4) rankerWeights[i] = data.getFloat32(offset, true);
  const rankerBias = Float32Array.of(data.getFloat32(offset, true));
  offset += 4;
  const W = new Float32Array(d * D);
  for (let i = 0; i < W.length; i++, offset += 2) W[i] = fromFloat16Bits(data.getUint16(offset, true));
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++, offset += 2) b[i] = fromFloat16Bits(data.getUint16(offset, true));
  const codes = new Int8Array(payload.buffer, offset, n * d);
  const q = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const scale = scales[i]!;
    if (!(Number.isFinite(scale) && scale > 0)) fail(`row ${i} of q has an invalid scale (${scale})`);
    for (let f = i * d; f < (i + 1) * d; f++) q[f] = codes[f]! * scale;
  }
  for (const [name, array] of [
    ['W', W],
    ['b', b],
    ['ranker weights', rankerWeights],
    ['ranker bias', rankerBias],
  ] as const) {
    const bad = array.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) fail(`${name} has a non-finite value at index ${bad}`);
  }
  return {
    header,
    params: {
      [PARAM_W]: { shape: [d, D], values: W },
      [PARAM_Q]: { shape: [n, d], values: q },
      [PARAM_B]: { shape: [n], values: b },
      [PARAM_RANKER_WEIGHTS]: { shape: [r], values: rankerWeights },
      [PARAM_RANKER_BIAS]: { shape: [1], values: rankerBias },
    },
    ...(itemIds ? { itemIds } : {}),
  };
}

/** The ids section: its checksum, n distinct non-empty ids. */
async function decodeItemIds(bytes: Uint8Array<ArrayBuffer>, sha256: string, n: number, fail: (message: string) => never): Promise<string[]> {
  if ((await sha256Hex(bytes)) !== sha256) fail('the item ids do not match their checksum: the file is damaged or was edited');
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail('the item ids are not UTF-8');
  }
  const ids = text.split('\n');
  if (ids.length !== n) fail(`the file lists ${ids.length} item ids for ${n} rows`);
  if (ids.some((id) => id.length === 0)) fail('the file lists an empty item id');
  if (new Set(ids).size !== n) fail('the file lists an item id twice');
  return ids;
}

/** What the opening model needs the shipped file to be for. */
export interface ShippedGlobalExpectation {
  modelId: string;
  catalogFingerprint: string;
  itemCount: number;
  factors: number;
  embeddingDim: number;
}

/** A shipped file decoded, with where it came from. */
export type LoadedShipped = Awaited<ReturnType<typeof decodeShippedGlobal>> & { source: string };

/** Whether loadShipped gave a file (not nothing, not a problem). */
export function isLoaded(result: LoadedShipped | { problem: string } | Record<string, never>): result is LoadedShipped {
  return 'header' in result;
}

/**
 * Loads (`load` resolves undefined when there is no file) and decodes a shipped global model: the
 * decoded file, nothing when there is no file, or the problem in words (a failed download, a damaged
 * file). Never throws. What the file must fit is the caller's check (readShippedGlobal, core/model/shipped-head.ts).
 */
export async function loadShipped(
  load: () => Promise<{ bytes: Uint8Array; source: string } | undefined>,
): Promise<LoadedShipped | { problem: string } | Record<string, never>> {
  let file: { bytes: Uint8Array; source: string } | undefined;
  try {
    file = await load();
  } catch (error) {
    return { problem: `the shipped global model could not be read (${error instanceof Error ? error.message : String(error)})` };
  }
  if (!file) return {};
  try {
    return { ...(await decodeShippedGlobal(file.bytes, file.source)), source: file.source };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Loads (`load` resolves undefined when there is no file) and checks a shipped global model for the
 * model about to open: the parameters and the description to show, nothing when there is no file, or
 * the problem, in words, when there is one that cannot be used (damaged, another model id, another
 * catalog, other sizes, or a failed download). Never throws.
 */
export async function readShippedGlobal(
  load: () => Promise<{ bytes: Uint8Array; source: string } | undefined>,
  expected: ShippedGlobalExpectation,
): Promise<{ params: ParamSet; description: string; source: string } | { problem: string } | Record<string, never>> {
  const loaded = await loadShipped(load);
  if (!isLoaded(loaded)) return loaded;
  const { header, params, source } = loaded;
  const problem = headerMismatch(loaded, expected);
  if (problem) return { problem };
  if (header.catalogFingerprint !== expected.catalogFingerprint)
    return { problem: `${source} was trained for another version of the catalog (its items differ)` };
  if (header.itemCount !== expected.itemCount) return { problem: `${source} has itemCount ${header.itemCount}, this model ${expected.itemCount}` };
  return { params, description: header.description, source };
}

/** Why a decoded file is not for this model (its id, factors, embedding size), in words; undefined when it is. */
export function headerMismatch(
  { header, source }: Pick<LoadedShipped, 'header' | 'source'>,
  expected: Pick<ShippedGlobalExpectation, 'modelId' | 'factors' | 'embeddingDim'>,
): string | undefined {
  if (header.modelId !== expected.modelId) return `${source} is for the model ${header.modelId}, not ${expected.modelId}`;
  for (const key of ['factors', 'embeddingDim'] as const) {
    if (header[key] !== expected[key]) return `${source} has ${key} ${header[key]}, this model ${expected[key]}`;
  }
  return undefined;
}
