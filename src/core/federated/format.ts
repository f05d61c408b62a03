/**
 * The federated model file: one format for a user's noised delta (kind 'delta') and for a global
 * model (kind 'global'), so the CLI, the app and later tools share one reader with one set of checks.
 *
 *   offset 0   8 bytes  magic: 0x89 'P' 'R' 'F' 'E' 'D' '\r' '\n'  (PNG-style: the high byte and the
 *                       CR LF pair catch 7-bit and text-mode transfers that would corrupt the floats)
 *   offset 8   uint32 LE  byte length of the header
 *   offset 12  UTF-8 JSON header (schema below), then zero padding to a multiple of 4 bytes
 *   then       float32 little-endian payload: the tensors in sorted name order, row-major
 *
 * Files come from strangers (any user can send a delta), so decoding trusts nothing: sizes are
 * capped before anything is allocated, the header is schema-checked, the payload length must match
 * the shapes exactly, the SHA-256 must match, and NaN/Inf are refused. Every refusal is a
 * ModelFileError whose message says what is wrong in words a person can act on.
 */
import { describeIssues, z } from '../schema';
import { layoutMismatch, paramNames, sizeOf, totalSize, type ParamSet, type TensorLayout } from './params';

export const FILE_FORMAT = 'private-recs-federated';
export const FORMAT_VERSION = 1;
export const MAGIC = Uint8Array.from([0x89, 0x50, 0x52, 0x46, 0x45, 0x44, 0x0d, 0x0a]);
/** The whole file may not exceed this: 256 MiB is ~64M floats, far above any model this app trains. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
export const MAX_HEADER_BYTES = 1024 * 1024;
const PREFIX_BYTES = MAGIC.length + 4;

export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

/**
 * Parameter names are identifiers ('W', 'q', 'ranker/dense_1/kernel'). Starting with a letter keeps
 * out '__proto__', which as an object key would silently replace the prototype instead of storing a tensor.
 */
export const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_./:-]{0,199}$/;

const tensorLayoutSchema = z.object({
  name: z.string().check(z.regex(PARAM_NAME, 'a parameter name starts with a letter and holds only letters, digits and _ . / : -')),
  shape: z.array(z.int().check(z.nonnegative(), z.lte(2 ** 31))).check(z.maxLength(8)),
});

const commonHeader = {
  format: z.literal(FILE_FORMAT),
  formatVersion: z.literal(FORMAT_VERSION),
  /** Which model architecture and version the parameters belong to (e.g. 'mf-bpr-64@1'). */
  modelId: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
  /** Hash of the catalog the item rows follow; rows of q and b are meaningless under another catalog. */
  catalogFingerprint: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
  params: z.array(tensorLayoutSchema).check(z.minLength(1), z.maxLength(10_000)),
  payloadSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
};

const sha256Schema = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'));

export const deltaHeaderSchema = z.object({
  ...commonHeader,
  kind: z.literal('delta'),
  /** L2 clip norm C the delta was clipped to. */
  clipNorm: z.number().check(z.positive()),
  /** σ: the noise standard deviation on every coordinate is σ·C. */
  noiseMultiplier: z.number().check(z.positive()),
  /** ε spent by the user over all exports so far, this one included, at `delta`. */
  epsilonSpent: z.number().check(z.nonnegative()),
  delta: z.number().check(z.positive(), z.lt(1)),
  /** FedAvg weight (e.g. number of examples, or 1 for uniform weighting, which leaks less). */
  weight: z.number().check(z.positive(), z.lte(1e9)),
  /** SHA-256 of the payload of the global model the delta was computed against, when known. */
  baseSha256: z.optional(sha256Schema),
});

export const globalHeaderSchema = z.object({
  ...commonHeader,
  kind: z.literal('global'),
  /** How many deltas went into this model (absent for a model trained centrally). */
  contributors: z.optional(z.int().check(z.nonnegative())),
  aggregation: z.optional(z.enum(['fedavg', 'trimmed-mean'])),
});

export const headerSchema = z.discriminatedUnion('kind', [deltaHeaderSchema, globalHeaderSchema]);

export type DeltaHeader = z.infer<typeof deltaHeaderSchema>;
export type GlobalHeader = z.infer<typeof globalHeaderSchema>;
export type ModelFileHeader = z.infer<typeof headerSchema>;

/** What a caller provides to encode: the header less what the encoder derives (format, version, layout, checksum). */
type Derived = 'format' | 'formatVersion' | 'params' | 'payloadSha256';
export type DeltaInfo = Omit<DeltaHeader, Derived>;
export type GlobalInfo = Omit<GlobalHeader, Derived>;
export type ModelFileInfo = DeltaInfo | GlobalInfo;

export interface ModelFile {
  header: ModelFileHeader;
  params: ParamSet;
}

/**
 * The header of a binary file framed as magic bytes, a little-endian u32 header length, and that many
 * bytes of UTF-8 JSON: the parsed JSON and its length in bytes, or `fail` with a message for people. Shared by the federated
 * model files and the shipped global model (core/model/shipped-global.ts).
 */
export function readJsonHeader(
  bytes: Uint8Array,
  layout: { magicLength: number; prefixBytes: number; maxHeaderBytes: number },
  fail: (message: string) => never,
  truncated: (headerLength: number) => string,
): { json: unknown; headerLength: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(layout.magicLength, true);
  if (headerLength > layout.maxHeaderBytes) fail(`the header claims ${headerLength} bytes; the limit is ${layout.maxHeaderBytes}`);
  if (layout.prefixBytes + headerLength > bytes.length) fail(truncated(headerLength));
  try {
    const json: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(layout.prefixBytes, layout.prefixBytes + headerLength)));
    return { json, headerLength };
  } catch {
    return fail('the header is not valid UTF-8 JSON');
  }
}

/**
 * readJsonHeader, then the header's format and version, then its schema: the checked header and where the
 * payload starts (the header padded to a multiple of 4). The version is read before the schema, since a
 * newer file may describe itself otherwise. `noun` names the file in the newer-version message.
 * Shared by the vector shards (core/index/shards.ts) and a large catalog's columns and row shards.
 */
export function readVersionedHeader<Header>(
  bytes: Uint8Array,
  layout: { magicLength: number; prefixBytes: number; maxHeaderBytes: number },
  expected: { format: string; version: number; noun: string; schema: z.ZodMiniType<Header> },
  fail: (reason: 'truncated' | 'bad-header' | 'newer-version', message: string) => never,
): { header: Header; payloadStart: number } {
  const { json, headerLength } = readJsonHeader(
    bytes,
    layout,
    (message) => fail(message.startsWith('truncated') ? 'truncated' : 'bad-header', message),
    (n) => `truncated: the header claims ${n} bytes, the file has ${bytes.length}`,
  );
  const version = z.object({ format: z.literal(expected.format), version: z.int().check(z.positive()) }).safeParse(json);
  if (!version.success) fail('bad-header', `the header is not a ${expected.format} header`);
  if (version.data!.version > expected.version)
    fail('newer-version', `the ${expected.noun} is version ${version.data!.version}; this app reads version ${expected.version}`);
  const parsed = expected.schema.safeParse(json);
  if (!parsed.success) return fail('bad-header', `the header is invalid (${describeIssues(parsed.error)})`);
  return { header: parsed.data, payloadStart: Math.ceil((layout.prefixBytes + headerLength) / 4) * 4 };
}

/**
 * The writer's side of readJsonHeader: `magic`, the header's length (u32, little-endian), the header,
 * zero padding to a multiple of 4, then the payload.
 */
export function writeJsonHeader(magic: Uint8Array, headerBytes: Uint8Array, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = magic.length + 4;
  const payloadStart = Math.ceil((prefix + headerBytes.length) / 4) * 4;
  const file = new Uint8Array(payloadStart + payload.length);
  file.set(magic, 0);
  new DataView(file.buffer).setUint32(magic.length, headerBytes.length, true);
  file.set(headerBytes, prefix);
  file.set(payload, payloadStart);
  return file;
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

const align4 = (n: number): number => Math.ceil(n / 4) * 4;

/** Checks a layout for duplicate names and absurd sizes; returns the number of floats. */
function checkLayout(layout: readonly TensorLayout[], where: string): number {
  const seen = new Set<string>();
  for (const { name } of layout) {
    if (!PARAM_NAME.test(name)) throw new ModelFileError(`${where}: '${name}' is not a valid parameter name`);
    if (seen.has(name)) throw new ModelFileError(`${where}: parameter '${name}' appears twice`);
    seen.add(name);
  }
  const count = totalSize(layout);
  if (count * 4 > MAX_FILE_BYTES) {
    throw new ModelFileError(
      `${where}: the parameters hold ${count} values (${Math.round((count * 4) / 2 ** 20)} MiB); the limit is ${MAX_FILE_BYTES / 2 ** 20} MiB`,
    );
  }
  return count;
}

/** Index of the first NaN or infinite value, or −1. */
function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/** Serialises a parameter set with its header. Refuses NaN/Inf and sizes the decoder would refuse. */
export async function encodeModelFile(info: ModelFileInfo, params: ParamSet): Promise<Uint8Array<ArrayBuffer>> {
  const names = paramNames(params);
  const layout: TensorLayout[] = names.map((name) => ({ name, shape: [...params[name]!.shape] }));
  const count = checkLayout(layout, 'cannot write the file');
  for (const name of names) {
    const { shape, values } = params[name]!;
    if (sizeOf(shape) !== values.length) {
      throw new ModelFileError(`cannot write the file: parameter '${name}' has shape [${shape.join(', ')}] but ${values.length} values`);
    }
    const bad = firstNonFinite(values);
    if (bad >= 0) throw new ModelFileError(`cannot write the file: parameter '${name}' has a non-finite value (${values[bad]}) at index ${bad}`);
  }
  const payload = new Uint8Array(count * 4);
  const view = new DataView(payload.buffer);
  let offset = 0;
  for (const name of names) {
    for (const x of params[name]!.values) {
      view.setFloat32(offset, x, true);
      offset += 4;
    }
  }
  const candidate = { ...info, format: FILE_FORMAT, formatVersion: FORMAT_VERSION, params: layout, payloadSha256: await sha256Hex(payload) };
  const parsed = headerSchema.safeParse(candidate);
  if (!parsed.success) throw new ModelFileError(`cannot write the file: invalid header (${describeIssues(parsed.error)})`);
  const headerBytes = new TextEncoder().encode(JSON.stringify(parsed.data));
  if (headerBytes.length > MAX_HEADER_BYTES) throw new ModelFileError('cannot write the file: the header is larger than 1 MiB');
  const payloadStart = align4(PREFIX_BYTES + headerBytes.length);
  if (payloadStart + payload.length > MAX_FILE_BYTES) throw new ModelFileError(`cannot write the file: it would exceed ${MAX_FILE_BYTES / 2 ** 20} MiB`);
  return writeJsonHeader(MAGIC, headerBytes, payload);
}

/**
 * Parses and checks a file. `source` (a file name) prefixes every message. Throws ModelFileError on:
 * wrong magic, truncation or trailing bytes, oversize, undecodable or invalid header, a newer
 * format version, shapes that do not match the payload, a checksum mismatch, NaN or Inf.
 */
export async function decodeModelFile(bytes: Uint8Array, source = 'model file'): Promise<ModelFile> {
  const fail = (message: string): never => {
    throw new ModelFileError(`${source}: ${message}`);
  };
  if (bytes.length > MAX_FILE_BYTES) fail(`the file is ${Math.round(bytes.length / 2 ** 20)} MiB; the limit is ${MAX_FILE_BYTES / 2 ** 20} MiB`);
  if (bytes.length < PREFIX_BYTES) {
    const prefixMatches = MAGIC.slice(0, bytes.length).every((b, i) => bytes[i] === b);
    fail(prefixMatches && bytes.length > 0 ? `the file is truncated (${bytes.length} bytes)` : 'not a federated model file (it is too short)');
  }
  if (!MAGIC.every((b, i) => bytes[i] === b)) fail('not a federated model file (wrong magic bytes)');
  const { json, headerLength } = readJsonHeader(
    bytes,
    { magicLength: MAGIC.length, prefixBytes: PREFIX_BYTES, maxHeaderBytes: MAX_HEADER_BYTES },
    fail,
    (headerLength) => `the file is truncated inside its header (${bytes.length} bytes, the header alone needs ${PREFIX_BYTES + headerLength})`,
  );
  // The version is checked before the schema: a newer file may have fields this reader does not know.
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    fail(`the file is format version ${version}; this app reads up to version ${FORMAT_VERSION}. Update the app to read it.`);
  }
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) fail(`invalid header (${describeIssues(parsed.error)})`);
  const header = parsed.data!;

  const count = checkLayout(header.params, source);
  const payloadStart = align4(PREFIX_BYTES + headerLength);
  const expectedLength = payloadStart + count * 4;
  if (bytes.length < expectedLength) {
    fail(`the file is truncated: the header describes ${count} values (${expectedLength} bytes in all) but the file has ${bytes.length} bytes`);
  }
  if (bytes.length > expectedLength) {
    fail(`the file has ${bytes.length - expectedLength} unexpected bytes after the ${count} values its header describes`);
  }
  // A copy of its own: a Node Buffer's slice() is a view whose .buffer starts elsewhere.
  const payload = new Uint8Array(bytes.subarray(payloadStart, expectedLength));
  if ((await sha256Hex(payload)) !== header.payloadSha256) fail('the checksum does not match: the file is corrupted or was edited');

  const payloadView = new DataView(payload.buffer);
  const params: ParamSet = {};
  let offset = 0;
  // Tensors are stored in sorted name order whatever order the header lists them in.
  for (const { name, shape } of [...header.params].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const values = new Float32Array(sizeOf(shape));
    for (let i = 0; i < values.length; i++, offset += 4) values[i] = payloadView.getFloat32(offset, true);
    const bad = firstNonFinite(values);
    if (bad >= 0) fail(`parameter '${name}' has a non-finite value (${values[bad]}) at index ${bad}`);
    params[name] = { shape: [...shape], values };
  }
  return { header, params };
}

/** Throws unless `header` belongs to the same model, catalog and layout as `reference` (naming what differs). */
export function assertCompatible(reference: ModelFileHeader, referenceName: string, header: ModelFileHeader, name: string): void {
  if (header.modelId !== reference.modelId) {
    throw new ModelFileError(`${name}: model id '${header.modelId}' does not match '${reference.modelId}' of ${referenceName}`);
  }
  if (header.catalogFingerprint !== reference.catalogFingerprint) {
    throw new ModelFileError(
      `${name}: catalog fingerprint '${header.catalogFingerprint}' does not match '${reference.catalogFingerprint}' of ${referenceName}`,
    );
  }
  const mismatch = layoutMismatch(reference.params, header.params);
  if (mismatch) throw new ModelFileError(`${name}: dimensions differ from ${referenceName}: ${mismatch}`);
}
