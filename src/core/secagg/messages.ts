/**
 * Wire format of the secure-aggregation HTTP API (docs: COMMON contract; helper C's service and helper E's device
 * client both validate with these): zod schemas for each JSON body, byte fields as unpadded base64url, and decoders
 * that turn a parsed body into the protocol's types with every size checked against the round (key lengths exactly
 * 32 bytes, share envelopes exactly 94 bytes, masked vectors exactly L u32 little-endian, share counts and indices
 * against the neighbour graph). Decoders throw SecAggError with a message fit for a 400 response; nothing partial
 * comes back.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { describeIssues, z } from '../schema';
import { checkSigningKey, SIGNATURE_BYTES, SIGNING_KEY_BYTES, type SurvivorSignature } from './consistency';
import { sharedGraph } from './graph';
import { KEY_BYTES, SHARE_BYTES, SHARE_CIPHERTEXT_BYTES } from './keys';
import { MAX_COHORT, MAX_NEIGHBOURS, MAX_VECTOR_LENGTH, ROUND_ID_PATTERN, SecAggError, type RoundParams, validateParams } from './params';
import type { AdvertisedKeys, EncryptedShare, IndexedShare, UnmaskShares } from './protocol';

// ---------------------------------------------------------------------------------------------------------------
// base64url (RFC 4648 §5, no padding), strict: other characters, a length of 4m+1 or non-zero trailing bits refused.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Characters of base64url for `bytes` bytes. */
export function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/** Two base64url characters per 12 bits, as the u16 that holds them in memory order (for each byte order). */
const PAIRS_LE = new Uint16Array(4096);
const PAIRS_BE = new Uint16Array(4096);
for (let v = 0; v < 4096; v++) {
  const first = ALPHABET.charCodeAt(v >>> 6);
  const second = ALPHABET.charCodeAt(v & 63);
  PAIRS_LE[v] = first | (second << 8);
  PAIRS_BE[v] = (first << 8) | second;
}
const ascii = new TextDecoder('ascii');
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

type NativeBase64 = { toBase64(options: { alphabet: 'base64url'; omitPadding: boolean }): string };

export function toBase64url(bytes: Uint8Array): string {
  // The platform's encoder where it exists (ES2026 Uint8Array.prototype.toBase64: recent browsers); ours otherwise.
  if (typeof (bytes as Partial<NativeBase64>).toBase64 === 'function') {
    return (bytes as unknown as NativeBase64).toBase64({ alphabet: 'base64url', omitPadding: true });
  }
  // ASCII codes into one buffer, then one native decode (much faster than building strings from char codes).
  const out = new Uint8Array(base64urlLength(bytes.length));
  const pairs = new Uint16Array(out.buffer, 0, Math.floor(out.length / 2));
  const table = littleEndian ? PAIRS_LE : PAIRS_BE;
  let o = 0;
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    pairs[o++] = table[v >>> 12]!;
    pairs[o++] = table[v & 4095]!;
  }
  let c = 2 * o;
  const rest = bytes.length - i;
  if (rest > 0) {
    const v = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[c++] = ALPHABET.charCodeAt(v >>> 18);
    out[c++] = ALPHABET.charCodeAt((v >>> 12) & 63);
    if (rest === 2) out[c++] = ALPHABET.charCodeAt((v >>> 6) & 63);
  }
  return ascii.decode(out);
}

export function fromBase64url(text: string, what = 'value'): Uint8Array {
  if (text.length % 4 === 1) throw new SecAggError(`${what}: not base64url (bad length)`);
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) throw new SecAggError(`${what}: not base64url (character ${i + 1})`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new SecAggError(`${what}: not canonical base64url (trailing bits)`);
  return out;
}

/** u32 little-endian, as the masked upload carries them. */
export function u32ToBytes(vector: Uint32Array): Uint8Array {
  if (littleEndian) return new Uint8Array(vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength));
  const out = new Uint8Array(vector.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < vector.length; i++) view.setUint32(4 * i, vector[i]!, true);
  return out;
}

export function bytesToU32(bytes: Uint8Array, what = 'vector'): Uint32Array {
  if (bytes.length % 4 !== 0) throw new SecAggError(`${what}: ${bytes.length} bytes is not a whole number of u32`);
  if (littleEndian) return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Uint32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Field schemas (strings and numbers as they arrive in JSON).

const B64 = /^[A-Za-z0-9_-]*$/;
const bytesField = (bytes: number, name: string) =>
  z
    .string()
    .check(
      z.length(base64urlLength(bytes), { error: `${name} must be ${bytes} bytes (${base64urlLength(bytes)} base64url characters)` }),
      z.regex(B64, { error: `${name} must be base64url` }),
    );
const keyField = (name: string) => bytesField(KEY_BYTES, name);
const deviceIndex = z.int().check(z.gte(0), z.lt(MAX_COHORT));
const indexList = z.array(deviceIndex).check(z.maxLength(MAX_COHORT));

export const roundParamsSchema = z.strictObject({
  roundId: z.string().check(z.regex(ROUND_ID_PATTERN, { error: 'roundId must be 1 to 100 characters of A-Z, a-z, 0-9, _ or -' })),
  cohortSize: z.int().check(z.gte(3), z.lte(MAX_COHORT)),
  threshold: z.int().check(z.gte(2), z.lte(MAX_COHORT)),
  neighbours: z.int().check(z.gte(2), z.lte(MAX_NEIGHBOURS)),
  vectorLength: z.int().check(z.gte(1), z.lte(MAX_VECTOR_LENGTH)),
});

/** POST /v1/rounds/:id/keys: the protocol's keys and the Ed25519 key the device signs the survivor lists with (consistency.ts). */
export const keysRequestSchema = z.strictObject({
  encryptionPublicKey: keyField('encryptionPublicKey'),
  maskPublicKey: keyField('maskPublicKey'),
  seedCommitment: keyField('seedCommitment'),
  signingPublicKey: bytesField(SIGNING_KEY_BYTES, 'signingPublicKey'),
});
/** The POST /keys answer (the service's token: an opaque base64url string). */
export const registerResponseSchema = z.strictObject({
  index: deviceIndex,
  token: z.string().check(z.minLength(16), z.maxLength(200), z.regex(B64, { error: 'token must be base64url' })),
});
const advertisedKeysSchema = z.strictObject({ index: deviceIndex, ...keysRequestSchema.shape });
/** GET /v1/rounds/:id/keys */
export const keysResponseSchema = z.strictObject({
  params: roundParamsSchema,
  keys: z.array(advertisedKeysSchema).check(z.maxLength(MAX_COHORT)),
});
/** POST /v1/rounds/:id/shares */
export const sharesRequestSchema = z.strictObject({
  shares: z.array(z.strictObject({ to: deviceIndex, ciphertext: bytesField(SHARE_CIPHERTEXT_BYTES, 'ciphertext') })).check(z.maxLength(MAX_NEIGHBOURS)),
});
/** GET /v1/rounds/:id/shares (the shares addressed to the caller) */
export const sharesResponseSchema = z.strictObject({
  shares: z.array(z.strictObject({ from: deviceIndex, ciphertext: bytesField(SHARE_CIPHERTEXT_BYTES, 'ciphertext') })).check(z.maxLength(MAX_NEIGHBOURS)),
});
/** POST /v1/rounds/:id/masked: L u32, little-endian, base64url. */
export const maskedRequestSchema = z.strictObject({
  masked: z.string().check(z.minLength(1), z.maxLength(base64urlLength(4 * MAX_VECTOR_LENGTH))),
});
/** GET /v1/rounds/:id/survivors */
export const survivorsResponseSchema = z.strictObject({ survivors: indexList, dropped: indexList });
const indexedShares = z.array(z.strictObject({ of: deviceIndex, share: bytesField(SHARE_BYTES, 'share') })).check(z.maxLength(MAX_NEIGHBOURS));
/** POST /v1/rounds/:id/unmask */
export const unmaskRequestSchema = z.strictObject({ seedShares: indexedShares, keyShares: indexedShares });
/** POST /v1/rounds/:id/signature: the caller's Ed25519 signature over the survivor lists (consistency.ts). */
export const signatureRequestSchema = z.strictObject({ signature: bytesField(SIGNATURE_BYTES, 'signature') });
/** GET /v1/rounds/:id/signatures: every survivor's signature the service accepted. */
export const signaturesResponseSchema = z.strictObject({
  signatures: z.array(z.strictObject({ from: deviceIndex, signature: bytesField(SIGNATURE_BYTES, 'signature') })).check(z.maxLength(MAX_COHORT)),
});

export type KeysRequest = z.infer<typeof keysRequestSchema>;
export type RegisterResponse = z.infer<typeof registerResponseSchema>;
export type KeysResponse = z.infer<typeof keysResponseSchema>;
export type SharesRequest = z.infer<typeof sharesRequestSchema>;
export type SharesResponse = z.infer<typeof sharesResponseSchema>;
export type MaskedRequest = z.infer<typeof maskedRequestSchema>;
export type SurvivorsResponse = z.infer<typeof survivorsResponseSchema>;
export type UnmaskRequest = z.infer<typeof unmaskRequestSchema>;
export type SignatureRequest = z.infer<typeof signatureRequestSchema>;
export type SignaturesResponse = z.infer<typeof signaturesResponseSchema>;

/** A device's keys as registered: the protocol's (AdvertisedKeys) and its signing key for the consistency round. */
export interface RegisteredKeys extends AdvertisedKeys {
  signingPublicKey: Uint8Array;
}

function parse<T>(schema: z.ZodMiniType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new SecAggError(`${what}: ${describeIssues(result.error)}`);
  return result.data;
}

// A fixed scalar: x25519 with any clamped scalar gives all zeros exactly for the low-order points.
const PROBE = new Uint8Array(32).fill(0x5a);
/** Throws unless `key` is 32 bytes that X25519 accepts as a public key (not a low-order point). */
export function checkPublicKey(key: Uint8Array, what: string): void {
  if (key.length !== KEY_BYTES) throw new SecAggError(`${what} must be ${KEY_BYTES} bytes`);
  try {
    x25519.getSharedSecret(PROBE, key);
  } catch {
    throw new SecAggError(`${what} is not a usable X25519 public key`);
  }
}

const graphOf = sharedGraph;

// ---------------------------------------------------------------------------------------------------------------
// Encoders (protocol types -> JSON bodies) and decoders (unknown JSON -> protocol types, fully checked).

export function encodeKeysRequest(keys: RegisteredKeys): KeysRequest {
  return {
    encryptionPublicKey: toBase64url(keys.encryptionPublicKey),
    maskPublicKey: toBase64url(keys.maskPublicKey),
    seedCommitment: toBase64url(keys.seedCommitment),
    signingPublicKey: toBase64url(keys.signingPublicKey),
  };
}

/**
 * The keys a device registers, as the device with index `index` (the service assigns it). `checkUsable` (default
 * true, what the service wants) also runs one X25519 per key to refuse low-order points, so one bad registration
 * cannot break its neighbours' key agreement later, and refuses a signing key that is no usable Ed25519 point.
 */
export function decodeKeysRequest(body: unknown, index: number, checkUsable = true): RegisteredKeys {
  const parsed = parse(keysRequestSchema, body, 'keys');
  const keys: RegisteredKeys = {
    index,
    encryptionPublicKey: fromBase64url(parsed.encryptionPublicKey, 'encryptionPublicKey'),
    maskPublicKey: fromBase64url(parsed.maskPublicKey, 'maskPublicKey'),
    seedCommitment: fromBase64url(parsed.seedCommitment, 'seedCommitment'),
    signingPublicKey: fromBase64url(parsed.signingPublicKey, 'signingPublicKey'),
  };
  if (checkUsable) {
    checkPublicKey(keys.encryptionPublicKey, 'encryptionPublicKey');
    checkPublicKey(keys.maskPublicKey, 'maskPublicKey');
    checkSigningKey(keys.signingPublicKey);
  }
  return keys;
}

export function encodeKeysResponse(params: RoundParams, keys: readonly RegisteredKeys[]): KeysResponse {
  return { params: { ...params }, keys: keys.map((k) => ({ index: k.index, ...encodeKeysRequest(k) })) };
}

/**
 * What a device downloads. Formats only: checking every key would cost the device one X25519 per cohort member (two
 * seconds at n = 1,000 in pure JS); the service checked them at registration, and a bad neighbour key still fails
 * the device's own key agreement with a SecAggError.
 */
export function decodeKeysResponse(body: unknown): { params: RoundParams; keys: RegisteredKeys[] } {
  const parsed = parse(keysResponseSchema, body, 'keys');
  validateParams(parsed.params);
  if (parsed.keys.length !== parsed.params.cohortSize)
    throw new SecAggError(`keys: ${parsed.keys.length} devices listed for a cohort of ${parsed.params.cohortSize}`);
  const keys = parsed.keys.map((k, i) => {
    if (k.index !== i) throw new SecAggError(`keys: position ${i} holds device ${k.index}`);
    const { index: _, ...request } = k;
    return decodeKeysRequest(request, i, false);
  });
  return { params: parsed.params, keys };
}

export function encodeSharesRequest(shares: readonly EncryptedShare[]): SharesRequest {
  return { shares: shares.map((s) => ({ to: s.to, ciphertext: toBase64url(s.ciphertext) })) };
}

/** The shares device `from` uploads: exactly one per neighbour (delivery is all or nothing). */
export function decodeSharesRequest(body: unknown, from: number, params: RoundParams): EncryptedShare[] {
  const parsed = parse(sharesRequestSchema, body, 'shares');
  const neighbours = graphOf(params)[from];
  if (!neighbours) throw new SecAggError(`shares: device ${from} is not in this round`);
  const expected = new Set(neighbours);
  const seen = new Set<number>();
  const shares = parsed.shares.map((s) => {
    if (!expected.has(s.to)) throw new SecAggError(`shares: device ${s.to} is not a neighbour of device ${from}`);
    if (seen.has(s.to)) throw new SecAggError(`shares: two shares for device ${s.to}`);
    seen.add(s.to);
    return { from, to: s.to, ciphertext: fromBase64url(s.ciphertext, 'ciphertext') };
  });
  if (shares.length !== expected.size) throw new SecAggError(`shares: expected one for each of the ${expected.size} neighbours, got ${shares.length}`);
  return shares;
}

export function encodeSharesResponse(shares: readonly EncryptedShare[]): SharesResponse {
  return { shares: shares.map((s) => ({ from: s.from, ciphertext: toBase64url(s.ciphertext) })) };
}

/** The shares addressed to device `to`, as it downloads them. */
export function decodeSharesResponse(body: unknown, to: number, params: RoundParams): EncryptedShare[] {
  const parsed = parse(sharesResponseSchema, body, 'shares');
  const neighbours = new Set(graphOf(params)[to] ?? []);
  const seen = new Set<number>();
  return parsed.shares.map((s) => {
    if (!neighbours.has(s.from)) throw new SecAggError(`shares: device ${s.from} is not a neighbour of device ${to}`);
    if (seen.has(s.from)) throw new SecAggError(`shares: two shares from device ${s.from}`);
    seen.add(s.from);
    return { from: s.from, to, ciphertext: fromBase64url(s.ciphertext, 'ciphertext') };
  });
}

export function encodeMaskedRequest(masked: Uint32Array): MaskedRequest {
  return { masked: toBase64url(u32ToBytes(masked)) };
}

export function decodeMaskedRequest(body: unknown, params: RoundParams): Uint32Array {
  const parsed = parse(maskedRequestSchema, body, 'masked');
  const expected = base64urlLength(4 * params.vectorLength);
  if (parsed.masked.length !== expected) {
    throw new SecAggError(`masked: expected ${params.vectorLength} u32 (${expected} base64url characters), got ${parsed.masked.length} characters`);
  }
  return bytesToU32(fromBase64url(parsed.masked, 'masked'), 'masked');
}

/** The masked vector as a raw body (application/octet-stream, u32 little-endian): 3/4 of the base64url JSON's bytes. */
export function decodeMaskedBinary(bytes: Uint8Array, params: RoundParams): Uint32Array {
  if (bytes.length !== 4 * params.vectorLength) throw new SecAggError(`masked: expected ${4 * params.vectorLength} bytes, got ${bytes.length}`);
  return bytesToU32(bytes, 'masked');
}

export function encodeSurvivorsResponse(survivors: readonly number[], dropped: readonly number[]): SurvivorsResponse {
  return { survivors: [...survivors], dropped: [...dropped] };
}

export function decodeSurvivorsResponse(body: unknown, params: RoundParams): { survivors: number[]; dropped: number[] } {
  const parsed = parse(survivorsResponseSchema, body, 'survivors');
  for (const j of [...parsed.survivors, ...parsed.dropped]) {
    if (j >= params.cohortSize) throw new SecAggError(`survivors: device ${j} is not in a cohort of ${params.cohortSize}`);
  }
  return parsed;
}

export function encodeUnmaskRequest(shares: UnmaskShares): UnmaskRequest {
  const enc = (list: readonly IndexedShare[]) => list.map((s) => ({ of: s.of, share: toBase64url(s.share) }));
  return { seedShares: enc(shares.seedShares), keyShares: enc(shares.keyShares) };
}

/** Device `from`'s unmask answer: shares only of its neighbours, each at most once, each 33 bytes. */
export function decodeUnmaskRequest(body: unknown, from: number, params: RoundParams): UnmaskShares {
  const parsed = parse(unmaskRequestSchema, body, 'unmask');
  const neighbours = new Set(graphOf(params)[from] ?? []);
  const seen = new Set<number>();
  const dec = (list: readonly { of: number; share: string }[]): IndexedShare[] =>
    list.map((s) => {
      if (!neighbours.has(s.of)) throw new SecAggError(`unmask: device ${s.of} is not a neighbour of device ${from}`);
      if (seen.has(s.of)) throw new SecAggError(`unmask: two shares of device ${s.of}`);
      seen.add(s.of);
      return { of: s.of, share: fromBase64url(s.share, 'share') };
    });
  return { from, seedShares: dec(parsed.seedShares), keyShares: dec(parsed.keyShares) };
}

export function encodeSignatureRequest(signature: SurvivorSignature): SignatureRequest {
  return { signature: toBase64url(signature.signature) };
}

/** Device `from`'s signature over the survivor lists (formats only: the service verifies it against the round's lists). */
export function decodeSignatureRequest(body: unknown, from: number): SurvivorSignature {
  const parsed = parse(signatureRequestSchema, body, 'signature');
  return { from, signature: fromBase64url(parsed.signature, 'signature') };
}

export function encodeSignaturesResponse(signatures: readonly SurvivorSignature[]): SignaturesResponse {
  return { signatures: signatures.map((s) => ({ from: s.from, signature: toBase64url(s.signature) })) };
}

/** The relayed signatures, as a device downloads them: devices of this round, each at most once (consistency.ts checks the rest). */
export function decodeSignaturesResponse(body: unknown, params: RoundParams): SurvivorSignature[] {
  const parsed = parse(signaturesResponseSchema, body, 'signatures');
  const seen = new Set<number>();
  return parsed.signatures.map((s) => {
    if (s.from >= params.cohortSize) throw new SecAggError(`signatures: device ${s.from} is not in a cohort of ${params.cohortSize}`);
    if (seen.has(s.from)) throw new SecAggError(`signatures: two signatures from device ${s.from}`);
    seen.add(s.from);
    return { from: s.from, signature: fromBase64url(s.signature, 'signature') };
  });
}
