/**
 * Verifiable mode (optional): a device's integer vector, secret-shared between TWO non-colluding
 * aggregators (a leader, id 0, and a helper, id 1) with a zero-knowledge proof that every entry lies in
 * [−B, B), B = 2^(bits−1), or — with `normBound` N set — that ‖x‖² ≤ N. The aggregators check
 * the proof jointly without learning the vector and drop a report that fails; an accepted report can move
 * the sum by at most B per entry, or by √N in L2 with the norm check (see encode.ts for what that is against
 * the clipping bound C: 19–136·C with the range only, ≈ 1.0003–1.009·C with the norm check).
 *
 * Range only: Prio3SumVec, the package's own circuit. With the norm check: Prio3Pine (pine.ts, stop 34: PINE's
 * norm check on the package's Prio3 and generic FLP, its validity circuit and second joint randomness written by
 * hand; it replaced stop 33's bit-per-entry Prio3L2VecSum). Under the norm check the entries are not range-checked:
 * ‖x‖² ≤ N bounds each one by √N.
 *
 * The proof system is not written here: it is ISRG's `@divviup/prio3` (Prio3SumVec of the IETF VDAF
 * draft, vdaf-08: additive shares in Field128, a fully linear proof that each of the b·L encoded values is
 * a bit). Written by hand in this file: the offset that makes signed entries unsigned (y = x + B ∈
 * [0, 2^b)), the wire format of the two uploads and of the prepare exchange, and the helper's expansion of
 * its 48 bytes of seeds into its shares — the same two TurboSHAKE128 expansions the package's own
 * (private) `buildHelperShares` does, with the package's public `domainSeparationTag`; a test checks
 * them against the package's shares.
 *
 * Flow of one report (DAP's, without its HPKE and transport):
 *   device:  buildReport → leader upload (nonce, public share, leader's input share) and helper upload
 *            (nonce, public share, 3 seeds)
 *   each aggregator: prepareInit(its upload, the shared verify key) → its state + its prepare share
 *   leader:  prepareMessage(leader's, helper's prepare share) → message, or VerifyRejected (drop the report)
 *   each aggregator: prepareFinish(state, message) → output share, or VerifyRejected (drop)
 *   each aggregator: aggregateOutputShares over its accepted reports → its aggregate share
 *   collector: combineAggregates(leader's, helper's, count) → Σ x over the accepted reports (signed)
 */
import { Buffer } from 'buffer';
import { Prio3SumVec, type Prio3 } from '@divviup/prio3';
import { FIELD128_BYTES, FieldSum, type FieldBytes } from './field-bytes';
import { Prio3Pine } from './pine';
import { PINE_FIELDS, type PineField } from './pine-params';

/** A report the aggregators refused: its proof did not verify or its shares were not well formed. */
export class VerifyRejected extends Error {
  override name = 'VerifyRejected';
}

export interface VerifiableParams {
  /** L: entries per vector. */
  length: number;
  /** b: each entry x is sent as b bits of x + 2^(b−1), so x ∈ [−2^(b−1), 2^(b−1)). 1..24. */
  bits: number;
  /**
   * The proof's chunk length (a parallel-sum gadget over this many bit checks). Default: the package's
   * polynomial products are schoolbook O(p²), so few long chunks are faster on the device (p = 64 below).
   */
  chunkLength?: number;
  /**
   * N: when set, the proof checks ‖x‖² ≤ N instead of each entry's range (Prio3Pine, pine.ts: PINE on the
   * package's generic proof system); unset, only the range of each entry (Prio3SumVec). A safe integer ≥ 1.
   */
  normBound?: number;
  /** PINE's chunk for its squares gadget (default: pine.ts's pineChunkLengths). */
  normChunkLength?: number;
  /**
   * PINE's field (with normBound only): 'field128' (the default; one proof, algorithm id 0xFFFF0001) or 'field64'
   * (stop 38: 8-byte elements, two proofs, id 0xFFFF0002; about half the upload). Reports of one are refused by a
   * service configured for the other (their sizes and ids differ).
   */
  field?: PineField;
}

/** Either proof: the range only (Prio3SumVec) or the L2 norm (Prio3Pine). */
export type VerifiableVdaf = Prio3SumVec | Prio3Pine;

const SEED = 16;
/** Seeds of the public share: Prio3's two joint-randomness parts, and PINE's two wraparound parts (pine.ts). */
const publicSeeds = (vdaf: VerifiableVdaf) => (vdaf instanceof Prio3Pine ? 4 : 2);
/** Bytes after the verifier in a prepare share: the joint-randomness part, and PINE's wraparound seed. */
const prepareTail = (vdaf: VerifiableVdaf) => (vdaf instanceof Prio3Pine ? 2 * SEED : SEED);
const NONCE = 16;
const LEADER = 0;
const HELPER = 1;
/** vdaf-08's usages (the package's private enum), for the helper's expansion of its seeds. */
const USAGE_MEASUREMENT_SHARE = 1;
const USAGE_PROOF_SHARE = 2;

/**
 * Proof elements the package may append in one `push(...proof)` (prio3.js, `shard`): a Chromium worker's stack
 * took 60,000 spread arguments and not 80,000 (measured, Chromium 156); Node's main thread 120,000.
 */
export const MAX_PROOF_ELEMENTS = 50_000;

/**
 * The default chunk: ⌈b·L / (p − 1)⌉ for the smallest p of 64, 128, 256, … whose proof (2·chunk + 2p − 1
 * elements) stays within MAX_PROOF_ELEMENTS. p = 64 (the fastest with the package's schoolbook polynomial
 * products, stop 31) up to b·L ≈ 1.5 million; longer vectors get more, shorter chunks (slower, but they run in a
 * browser's worker).
 */
export function defaultChunkLength(length: number, bits: number): number {
  for (let p = 64; ; p *= 2) {
    const chunk = Math.max(1, Math.ceil((length * bits) / (p - 1)));
    if (2 * chunk + 2 * p - 1 <= MAX_PROOF_ELEMENTS) return chunk;
  }
}

export function validateParams(p: VerifiableParams): void {
  if (!(Number.isInteger(p.length) && p.length >= 1 && p.length <= 2 ** 22)) throw new RangeError(`length must be an integer in [1, 2²²] (got ${p.length})`);
  if (!(Number.isInteger(p.bits) && p.bits >= 1 && p.bits <= 24)) throw new RangeError(`bits must be an integer in [1, 24] (got ${p.bits})`);
  if (p.chunkLength !== undefined && !(Number.isInteger(p.chunkLength) && p.chunkLength >= 1))
    throw new RangeError(`chunkLength must be a positive integer (got ${p.chunkLength})`);
  if (p.normChunkLength !== undefined && !(Number.isInteger(p.normChunkLength) && p.normChunkLength >= 1))
    throw new RangeError(`normChunkLength must be a positive integer (got ${p.normChunkLength})`);
  if (p.normBound !== undefined && !(Number.isSafeInteger(p.normBound) && p.normBound >= 1))
    throw new RangeError(`normBound must be a safe integer ≥ 1 (got ${p.normBound})`);
  if (p.field !== undefined && !(p.field in PINE_FIELDS))
    throw new RangeError(`field must be one of ${Object.keys(PINE_FIELDS).join(', ')} (got ${String(p.field)})`);
  if (p.field !== undefined && p.field !== 'field128' && p.normBound === undefined)
    throw new RangeError('the range-only proof (Prio3SumVec) runs in Field128 only');
}

/** The algorithm id of the VDAF these parameters make (what a service's GET /task shows as `algorithmId`). */
export function verifiableAlgorithmId(p: VerifiableParams): number {
  return p.normBound === undefined ? new Prio3SumVec({ shares: 2, length: 1, bits: 1, chunkLength: 1 }).id : PINE_FIELDS[p.field ?? 'field128'].algorithmId;
}

/** The byte conversions of a VDAF's field (Prio3SumVec: Field128). */
export function fieldBytesOf(vdaf: VerifiableVdaf): FieldBytes {
  return vdaf instanceof Prio3Pine ? vdaf.bytes : FIELD128_BYTES;
}

/** B = 2^(bits−1): accepted entries lie in [−B, B). */
export function entryBound(bits: number): number {
  return 2 ** (bits - 1);
}

export function makeVdaf(p: VerifiableParams): VerifiableVdaf {
  validateParams(p);
  if (p.normBound !== undefined)
    return new Prio3Pine({
      length: p.length,
      offset: BigInt(entryBound(p.bits)),
      normBound: BigInt(p.normBound),
      ...(p.chunkLength === undefined ? {} : { chunkLength: p.chunkLength }),
      ...(p.normChunkLength === undefined ? {} : { normChunkLength: p.normChunkLength }),
      ...(p.field === undefined ? {} : { field: p.field }),
    });
  return new Prio3SumVec({ shares: 2, length: p.length, bits: p.bits, chunkLength: p.chunkLength ?? defaultChunkLength(p.length, p.bits) });
}

/** What the device sends: one upload to each aggregator (nonce ‖ public share ‖ input share). */
export interface Report {
  /** Leader's: 16 + 32 (PINE: 64) + size·(encoded length + proofs·proof length) + 16 bytes (size 16, or 8 for Field64). */
  leader: Uint8Array;
  /** Helper's: 16 + 32 (PINE: 64) + 48 bytes (its shares are expanded from seeds). */
  helper: Uint8Array;
}

function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  crypto.getRandomValues(out);
  return out;
}

/** The device: y = x + B, shard, encode. Throws RangeError for an entry outside [−B, B) or a wrong length. */
export async function buildReport(p: VerifiableParams, x: ArrayLike<number>, vdaf: VerifiableVdaf = makeVdaf(p)): Promise<Report> {
  if (x.length !== p.length) throw new RangeError(`the vector has ${x.length} entries, expected ${p.length}`);
  const bound = entryBound(p.bits);
  const shifted = new Array<number>(p.length);
  for (let i = 0; i < p.length; i++) {
    const v = x[i]!;
    if (!(Number.isInteger(v) && v >= -bound && v < bound)) throw new RangeError(`entry ${i} is ${v}, outside [${-bound}, ${bound})`);
    shifted[i] = v + bound;
  }
  const nonce = randomBytes(NONCE);
  const { publicShare, inputShares } = await vdaf.shard(shifted, nonce, randomBytes(vdaf.randSize));
  const pub = vdaf.encodePublicShare(publicShare);
  return {
    // plain Uint8Arrays (copies): a Buffer's slice() is a view, a trap for callers
    leader: new Uint8Array(Buffer.concat([nonce, pub, vdaf.encodeInputShare(inputShares[LEADER]!)])),
    helper: new Uint8Array(Buffer.concat([nonce, pub, vdaf.encodeInputShare(inputShares[HELPER]!)])),
  };
}

/** Bytes of each upload for these parameters. */
export function uploadSizes(p: VerifiableParams, vdaf: VerifiableVdaf = makeVdaf(p)): { leader: number; helper: number } {
  const fieldSize = vdaf.flp.field.encodedSize;
  const head = NONCE + publicSeeds(vdaf) * SEED;
  return { leader: head + fieldSize * (vdaf.flp.measurementLen + vdaf.proofs * vdaf.flp.proofLen) + SEED, helper: head + 3 * SEED };
}

type AnyPrio3 = Prio3<number[], number[]>;
type InputShare = Parameters<AnyPrio3['prepareInit']>[5];
type PublicShare = Parameters<AnyPrio3['prepareInit']>[4];

export interface DecodedUpload {
  nonce: Buffer;
  publicShare: PublicShare;
  /** The helper's also carries its measurement share's encoding (the XOF's bytes), which PINE hashes and keeps. */
  inputShare: InputShare & { encodedMeasurementShare?: Uint8Array };
}

/** An upload's parts (exported for the aggregators' services and the tests); VerifyRejected if malformed. */
export async function decodeUpload(vdaf: VerifiableVdaf, aggregatorId: number, bytes: Uint8Array): Promise<DecodedUpload> {
  const field = vdaf.flp.field;
  const bytesOf = fieldBytesOf(vdaf);
  const measurementLen = vdaf.flp.measurementLen;
  const proofLen = vdaf.flp.proofLen * vdaf.proofs;
  const head = NONCE + publicSeeds(vdaf) * SEED;
  const body = aggregatorId === LEADER ? field.encodedSize * (measurementLen + proofLen) + SEED : 3 * SEED;
  if (bytes.length !== head + body)
    throw new VerifyRejected(`the ${aggregatorId === LEADER ? 'leader' : 'helper'}'s upload has ${bytes.length} bytes, expected ${head + body}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const nonce = Buffer.from(buf.subarray(0, NONCE));
  const publicShare = {
    jointRandParts: Array.from({ length: publicSeeds(vdaf) }, (_, i) => Buffer.from(buf.subarray(NONCE + i * SEED, NONCE + (i + 1) * SEED))),
  };
  const rest = buf.subarray(head);
  if (aggregatorId === LEADER) {
    const m = field.encodedSize * measurementLen;
    const pr = field.encodedSize * proofLen;
    const wireMeasurementShare = Buffer.from(rest.subarray(0, m));
    const wireProofShare = Buffer.from(rest.subarray(m, m + pr));
    const blind = Buffer.from(rest.subarray(m + pr));
    let proofsShare: bigint[];
    try {
      proofsShare = bytesOf.decode(rest.subarray(m, m + pr));
      if (lazyShare(vdaf)) {
        // checked here, decoded only if asked for: Prio3Pine's Field64 query reads the encoding (stop 39)
        if (!bytesOf.allInField(wireMeasurementShare)) throw new RangeError('decoded an element that is not in the field');
        return { nonce, publicShare, inputShare: lazyInputShare(bytesOf, wireMeasurementShare, { proofsShare, wireMeasurementShare, wireProofShare, blind }) };
      }
      const measurementShare = bytesOf.decode(wireMeasurementShare);
      return { nonce, publicShare, inputShare: { measurementShare, proofsShare, wireMeasurementShare, wireProofShare, blind } };
    } catch (e) {
      throw new VerifyRejected(`the leader's share is not in the field: ${(e as Error).message}`);
    }
  }
  const measurementSeed = Buffer.from(rest.subarray(0, SEED));
  const proofSeed = Buffer.from(rest.subarray(SEED, 2 * SEED));
  const blind = Buffer.from(rest.subarray(2 * SEED, 3 * SEED));
  const shareId = Buffer.of(HELPER);
  const encodedMeasurementShare = bytesOf.expandBytes(measurementSeed, vdaf.domainSeparationTag(USAGE_MEASUREMENT_SHARE), shareId, measurementLen);
  const proofsShare = bytesOf.expand(proofSeed, vdaf.domainSeparationTag(USAGE_PROOF_SHARE), Buffer.from([vdaf.proofs, HELPER]), proofLen);
  const parts = { proofsShare, wireMeasurementShare: measurementSeed, wireProofShare: proofSeed, blind };
  if (lazyShare(vdaf)) return { nonce, publicShare, inputShare: lazyInputShare(bytesOf, encodedMeasurementShare, { ...parts, encodedMeasurementShare }) }; // no spread of the lazy share: it would decode it
  const measurementShare = bytesOf.decode(encodedMeasurementShare);
  return { nonce, publicShare, inputShare: { measurementShare, ...parts, encodedMeasurementShare } };
}

/** Does this VDAF read the measurement share from its encoding (Prio3Pine on Field64, stop 39), so that decoding it can wait? */
function lazyShare(vdaf: VerifiableVdaf): boolean {
  return vdaf instanceof Prio3Pine && vdaf.fieldName === 'field64';
}

/** An input share whose measurementShare is decoded from `encoded` on first read (the encoding is known to be in the field). */
function lazyInputShare(
  bytes: FieldBytes,
  encoded: Uint8Array,
  parts: Omit<InputShare, 'measurementShare'> & { encodedMeasurementShare?: Uint8Array },
): DecodedUpload['inputShare'] {
  let decoded: bigint[] | undefined;
  return {
    ...parts,
    get measurementShare() {
      decoded ??= bytes.decode(encoded);
      return decoded;
    },
  };
}

/** The report's nonce (its id, for replay checks), read from either upload. */
export function reportNonce(upload: Uint8Array): Uint8Array {
  if (upload.length < NONCE) throw new VerifyRejected('the upload is shorter than its nonce');
  return upload.slice(0, NONCE);
}

export interface PrepareState {
  aggregatorId: number;
  outputShare: bigint[];
  correctedJointRandSeed: Buffer;
  /** PINE: the output share's encoding, a copy of the first size·d bytes of the encoded measurement share. */
  outputEncoded?: Uint8Array;
}

/**
 * One aggregator's first step on its upload: its share of the proof's verifier and its joint-randomness
 * part (the prepare share, sent to the other aggregator), and its state. `verifyKey` (16 bytes) is shared by
 * the two aggregators and secret from devices.
 */
export async function prepareInit(
  vdaf: VerifiableVdaf,
  verifyKey: Uint8Array,
  aggregatorId: 0 | 1,
  upload: Uint8Array,
): Promise<{ state: PrepareState; prepareShare: Uint8Array }> {
  if (verifyKey.length !== vdaf.verifyKeySize) throw new RangeError(`the verify key must be ${vdaf.verifyKeySize} bytes`);
  const { nonce, publicShare, inputShare } = await decodeUpload(vdaf, aggregatorId, upload);
  let prepared: Awaited<ReturnType<VerifiableVdaf['prepareInit']>>;
  try {
    prepared = await vdaf.prepareInit(Buffer.from(verifyKey), aggregatorId, null, nonce, publicShare, inputShare);
  } catch (e) {
    // PINE (pine.ts) refuses here a public share whose wraparound part does not match the aggregator's share
    throw new VerifyRejected(`the report's shares are inconsistent (${(e as Error).message})`);
  }
  const { preparationState, preparationShare } = prepared;
  // PINE's output share is the measurement share's first d elements: its encoding is that of the share's prefix
  const encoded = inputShare.encodedMeasurementShare ?? inputShare.wireMeasurementShare;
  const size = fieldBytesOf(vdaf).size;
  const outputBytes = size * vdaf.flp.outputLen;
  const whole = encoded.length === size * vdaf.flp.measurementLen;
  const outputEncoded = vdaf instanceof Prio3Pine && whole ? new Uint8Array(encoded.subarray(0, outputBytes)) : undefined; // a copy (a Buffer's slice is a view)
  return {
    state: {
      aggregatorId,
      // read only if asked for (Field64 PINE decodes it then; prepareFinishEncoded keeps its bytes)
      get outputShare() {
        return preparationState.outputShare;
      },
      correctedJointRandSeed: preparationState.correctedJointRandSeed,
      ...(outputEncoded ? { outputEncoded } : {}),
    },
    prepareShare: new Uint8Array(vdaf.encodePreparationShare(preparationShare)),
  };
}

function decodePrepareShare(vdaf: VerifiableVdaf, bytes: Uint8Array): Parameters<AnyPrio3['unshardPreparationShares']>[1][number] {
  const field = vdaf.flp.field;
  const verifierBytes = field.encodedSize * vdaf.flp.verifierLen * vdaf.proofs;
  const tail = prepareTail(vdaf);
  if (bytes.length !== verifierBytes + tail) throw new VerifyRejected(`a prepare share has ${bytes.length} bytes, expected ${verifierBytes + tail}`);
  try {
    return { verifiersShare: fieldBytesOf(vdaf).decode(bytes.subarray(0, verifierBytes)), jointRandomnessPart: Buffer.from(bytes.subarray(verifierBytes)) };
  } catch (e) {
    throw new VerifyRejected(`a prepare share is not in the field: ${(e as Error).message}`);
  }
}

/** The leader combines both prepare shares: the proof's decision. Rejected → VerifyRejected (drop the report). */
export async function prepareMessage(vdaf: VerifiableVdaf, leaderShare: Uint8Array, helperShare: Uint8Array): Promise<Uint8Array> {
  const shares = [decodePrepareShare(vdaf, leaderShare), decodePrepareShare(vdaf, helperShare)];
  try {
    const message = await vdaf.unshardPreparationShares(null, shares);
    return new Uint8Array(vdaf.encodePreparationMessage(message));
  } catch (e) {
    throw new VerifyRejected(`the proof did not verify (${(e as Error).message})`);
  }
}

/** Each aggregator's last step: the joint randomness must match what the device committed to. */
export function prepareFinish(vdaf: VerifiableVdaf, state: PrepareState, message: Uint8Array): bigint[] {
  try {
    const out = vdaf.prepareNext({ outputShare: state.outputShare, correctedJointRandSeed: state.correctedJointRandSeed }, { jointRand: Buffer.from(message) });
    if (!('outputShare' in out)) throw new Error('unexpected extra round');
    return out.outputShare;
  } catch (e) {
    throw new VerifyRejected(`the joint randomness does not match (${(e as Error).message})`);
  }
}

/** prepareFinish's output share, encoded (the field's size an element): PINE's from its state's bytes, without encoding it. */
export function prepareFinishEncoded(vdaf: VerifiableVdaf, state: PrepareState, message: Uint8Array): Uint8Array {
  if (!state.outputEncoded) return fieldBytesOf(vdaf).encode(prepareFinish(vdaf, state, message));
  // the same check as prepareFinish's, without decoding the output share (stop 39)
  prepareFinish(vdaf, { aggregatorId: state.aggregatorId, correctedJointRandSeed: state.correctedJointRandSeed, outputShare: [] }, message); // not a spread: it would read the lazy share
  return state.outputEncoded;
}

/** One aggregator's sum of its accepted output shares (field elements), encoded for the collector. */
export function aggregateOutputShares(vdaf: VerifiableVdaf, outputShares: bigint[][]): Uint8Array {
  return fieldBytesOf(vdaf).encode(vdaf.aggregate(null, outputShares)); // vdaf.encodeAggregatorShare's bytes (field-bytes.ts)
}

/**
 * An aggregator's fold of its encoded output shares (prepareFinishEncoded's) in this VDAF's field, one share at a time
 * (field-bytes.ts FieldSum: 32-bit limbs, reduced once); `finish()` is aggregateOutputShares' bytes.
 */
export function outputShareSum(vdaf: VerifiableVdaf, length: number): FieldSum {
  return new FieldSum(fieldBytesOf(vdaf), length);
}

/**
 * An aggregator's noise on its aggregate share (placement 'aggregators', encode.ts): N_Z(0, σ²) added to each
 * entry in the field. Each aggregator adds the full σ, so the published sum is private while either is honest.
 */
export function addAggregatorNoise(vdaf: VerifiableVdaf, aggregate: Uint8Array, noise: () => number): Uint8Array {
  const field = vdaf.flp.field;
  const bytes = fieldBytesOf(vdaf);
  const shares = bytes.decode(aggregate);
  const out = shares.map((v) => {
    const e = BigInt(noise());
    return field.add(v, e < 0n ? field.modulus + e : e);
  });
  return bytes.encode(out);
}

/**
 * The collector: Σ x over the `count` accepted reports, from the two aggregate shares (Σ y − count·B).
 * Entries are exact integers while |Σ x| < 2⁵³.
 */
export function combineAggregates(
  p: VerifiableParams,
  vdaf: VerifiableVdaf,
  leaderAggregate: Uint8Array,
  helperAggregate: Uint8Array,
  count: number,
): Float64Array {
  const field = vdaf.flp.field;
  const bytes = fieldBytesOf(vdaf);
  const a = bytes.decode(leaderAggregate);
  const b = bytes.decode(helperAggregate);
  if (a.length !== p.length || b.length !== p.length) throw new RangeError(`aggregate shares must have ${p.length} entries`);
  const offset = BigInt(count) * BigInt(entryBound(p.bits));
  const half = field.modulus / 2n;
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    let v = field.add(a[i]!, b[i]!);
    if (v > half) v -= field.modulus; // aggregator noise may make a sum negative (encode.ts, addAggregatorNoise)
    out[i] = Number(v - offset);
  }
  return out;
}
