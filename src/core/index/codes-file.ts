/**
 * An index's codes as one file, for storage (OPFS or IndexedDB) or for a publisher to ship beside the
 * shards: a returning visit reads the codes back instead of encoding a million vectors again.
 *
 * Framing as the other binary files (core/federated/format.ts): 8 magic bytes 0x89 'P' 'R' 'I' 'D' 'X'
 * '\r' '\n', u32 header length, the header (UTF-8 JSON), zero padding to 4, then the payload, in this
 * order, each section padded to 4 bytes:
 *   pq:   the codebook (float32, subspaces × centroids × dim/subspaces), the codes (count × subspaces)
 *   sign: the rotation's sign flips (int8, rounds × bits), the codes (count × bits/8), α (float32 × count),
 *         |v| (float32 × count)
 *   then, when the header says so, the biases (float32 × count).
 * The header names the model and catalog the codes were made for (a code is meaningless under another
 * W or another item order) and the payload's SHA-256.
 */
import { describeIssues, z } from '../schema';
import { readJsonHeader, sha256Hex, writeJsonHeader } from '../federated/format';
import type { PqCodebook } from './pq';
import type { SignCodebook, SignCodes } from './sign';

export const INDEX_FORMAT = 'private-recs-index';
export const INDEX_VERSION = 1;
export const INDEX_MAGIC = Uint8Array.from([0x89, 0x50, 0x52, 0x49, 0x44, 0x58, 0x0d, 0x0a]);
const PREFIX_BYTES = INDEX_MAGIC.length + 4;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_ITEMS = 10_000_000;

const common = {
  format: z.literal(INDEX_FORMAT),
  version: z.literal(INDEX_VERSION),
  /** Which vectors are coded: the model's item vectors (the feed) or the text vectors (queries). */
  vectors: z.enum(['model', 'text']),
  modelId: z.string().check(z.minLength(1), z.maxLength(200)),
  catalogFingerprint: z.string().check(z.minLength(1), z.maxLength(200)),
  count: z.int().check(z.gte(0), z.lte(MAX_ITEMS)),
  dim: z.int().check(z.gte(1), z.lte(4096)),
  biases: z.boolean(),
  payloadSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
};
const headerSchema = z.discriminatedUnion('kind', [
  z.object({ ...common, kind: z.literal('pq'), subspaces: z.int().check(z.gte(1), z.lte(4096)), centroids: z.int().check(z.gte(1), z.lte(256)) }),
  z.object({ ...common, kind: z.literal('sign'), bits: z.int().check(z.gte(8), z.lte(65_536)), rounds: z.int().check(z.gte(1), z.lte(16)) }),
]);
export type IndexFileHeader = z.infer<typeof headerSchema>;

export interface IndexIdentity {
  vectors: 'model' | 'text';
  modelId: string;
  catalogFingerprint: string;
}

export type IndexContents = ({ kind: 'pq'; codebook: PqCodebook; codes: Uint8Array } | { kind: 'sign'; codebook: SignCodebook; codes: SignCodes }) & {
  bias?: Float32Array;
};

export class IndexFileError extends Error {
  override name = 'IndexFileError';
}

const pad4 = (n: number) => Math.ceil(n / 4) * 4;
const bytesOf = (array: ArrayBufferView) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

function concat(sections: ArrayBufferView[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(sections.reduce((sum, section) => sum + pad4(section.byteLength), 0));
  let at = 0;
  for (const section of sections) {
    out.set(bytesOf(section), at);
    at += pad4(section.byteLength);
  }
  return out;
}

export async function encodeIndexFile(identity: IndexIdentity, contents: IndexContents): Promise<Uint8Array<ArrayBuffer>> {
  const sections: ArrayBufferView[] = [];
  let shape: Record<string, number>;
  let count: number;
  if (contents.kind === 'pq') {
    const { codebook, codes } = contents;
    count = codes.length / codebook.subspaces;
    shape = { subspaces: codebook.subspaces, centroids: codebook.centroids };
    sections.push(codebook.values, codes);
  } else {
    const { codebook, codes } = contents;
    count = codes.scales.length;
    shape = { bits: codebook.bits, rounds: codebook.flips.length / codebook.bits };
    sections.push(codebook.flips, codes.codes, codes.scales, codes.norms);
  }
  if (contents.bias) {
    if (contents.bias.length !== count) throw new IndexFileError(`${contents.bias.length} biases for ${count} items`);
    sections.push(contents.bias);
  }
  const payload = concat(sections);
  const candidate = {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    ...identity,
    kind: contents.kind,
    count,
    dim: contents.codebook.dim,
    biases: Boolean(contents.bias),
    ...shape,
    payloadSha256: await sha256Hex(payload),
  };
  const parsed = headerSchema.safeParse(candidate);
  if (!parsed.success) throw new IndexFileError(`cannot write the index: invalid header (${describeIssues(parsed.error)})`);
  return writeJsonHeader(INDEX_MAGIC, new TextEncoder().encode(JSON.stringify(parsed.data)), payload);
}

/** Parses and checks a stored index for `expected`; throws IndexFileError saying why it cannot be used (then: rebuild it). */
export async function decodeIndexFile(bytes: Uint8Array, expected: IndexIdentity & { count: number }, source = 'stored index'): Promise<IndexContents> {
  const fail = (message: string): never => {
    throw new IndexFileError(`${source}: ${message}`);
  };
  if (bytes.length < PREFIX_BYTES || INDEX_MAGIC.some((b, i) => bytes[i] !== b)) fail('not an index file');
  const { json, headerLength } = readJsonHeader(
    bytes,
    { magicLength: INDEX_MAGIC.length, prefixBytes: PREFIX_BYTES, maxHeaderBytes: MAX_HEADER_BYTES },
    fail,
    (n) => `truncated: the header claims ${n} bytes`,
  );
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) return fail(`the header is invalid (${describeIssues(parsed.error)})`);
  const header = parsed.data;
  if (header.vectors !== expected.vectors || header.modelId !== expected.modelId)
    fail(`it codes the ${header.vectors} vectors of ${header.modelId}, not the ${expected.vectors} vectors of ${expected.modelId}`);
  if (header.catalogFingerprint !== expected.catalogFingerprint || header.count !== expected.count) fail('it was built for another version of the catalog');
  const { count, dim } = header;
  const sizes =
    header.kind === 'pq'
      ? [header.subspaces * header.centroids * (dim / header.subspaces) * 4, count * header.subspaces]
      : [header.rounds * header.bits, (count * header.bits) / 8, count * 4, count * 4];
  if (header.kind === 'pq' && dim % header.subspaces !== 0) fail(`${dim} dimensions do not split into ${header.subspaces} subspaces`);
  if (header.kind === 'sign' && (header.bits & (header.bits - 1)) !== 0) fail(`${header.bits} bits is not a power of two`);
  if (header.biases) sizes.push(count * 4);
  const start = pad4(PREFIX_BYTES + headerLength);
  const length = sizes.reduce((sum, size) => sum + pad4(size), 0);
  if (bytes.length !== start + length)
    fail(`${bytes.length < start + length ? 'truncated' : 'too long'}: ${bytes.length} bytes, the header says ${start + length}`);
  // A copy, aligned: typed-array views below need 4-byte offsets.
  const payload = new Uint8Array(bytes.subarray(start));
  if ((await sha256Hex(payload)) !== header.payloadSha256) fail('the payload does not match its SHA-256 (damaged)');
  let at = 0;
  const next = (size: number) => {
    const from = at;
    at += pad4(size);
    return from;
  };
  const float = (size: number) => new Float32Array(payload.buffer, next(size), size / 4);
  let contents: IndexContents;
  if (header.kind === 'pq') {
    const values = float(sizes[0]!);
    const codes = new Uint8Array(payload.buffer, next(sizes[1]!), sizes[1]!);
    for (const c of codes) if (c >= header.centroids) fail(`a code (${c}) names no centroid`);
    contents = { kind: 'pq', codebook: { dim, subspaces: header.subspaces, centroids: header.centroids, values }, codes };
  } else {
    const flips = new Int8Array(payload.buffer, next(sizes[0]!), sizes[0]!);
    if (flips.some((f) => f !== 1 && f !== -1)) fail('the rotation has a sign that is not ±1');
    const codes = new Uint8Array(payload.buffer, next(sizes[1]!), sizes[1]!);
    contents = { kind: 'sign', codebook: { dim, bits: header.bits, flips }, codes: { codes, scales: float(sizes[2]!), norms: float(sizes[3]!) } };
  }
  if (header.biases) contents.bias = float(count * 4);
  for (const array of [contents.kind === 'pq' ? contents.codebook.values : contents.codes.scales, contents.bias ?? new Float32Array()]) {
    if (!array.every(Number.isFinite)) fail('it holds a value that is not finite');
  }
  return contents;
}

/** Where a publisher ships an index's codes: next to the catalog, `<catalog>.<model id>.<vectors>-index`. */
export function indexFileUrl(catalogUrl: string, modelId: string, vectors: IndexIdentity['vectors']): string {
  const [path, ...rest] = catalogUrl.split(/(?=[?#])/);
  const safeId = modelId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${path!.replace(/\.json$/i, '')}.${safeId}.${vectors}-index${rest.join('')}`;
}

/** Sign-code bits for `dim`-dimensional text vectors: a power of two ≥ dim, at least 512 (64 bytes per item). */
export const textSignBits = (dim: number): number => Math.max(512, 2 ** Math.ceil(Math.log2(dim)));
