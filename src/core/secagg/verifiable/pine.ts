/**
 * Prio3Pine: the verifiable mode's norm check (issue 20), PINE (Rothblum, Omri, Chen, Talwar, arXiv 2311.10237;
 * draft-chen-cfrg-vdaf-pine) as a Prio3 VDAF. Hand-written on `@divviup/prio3` (no maintained JavaScript PINE
 * exists): the circuit, its design and its soundness argument are in pine-circuit.ts, the parameters and error
 * bounds in pine-params.ts, the wraparound checks in pine-wraparound.ts, the proof in pine-flp.ts; this file is
 * Prio3's flow with PINE's second joint randomness.
 */
import { Buffer } from 'buffer';
import { Prio3 } from '@divviup/prio3';
import { XofTurboShake128 } from '@divviup/xof';
import { deriveSeed, type FieldBytes } from './field-bytes';
import { PineCircuit, pineChunkLengths, type PineArgs } from './pine-circuit';
import { PineFlp } from './pine-flp';
import { DEFAULT_ALLOWED_FAILURES, DEFAULT_ALPHA, DEFAULT_REPETITIONS, PINE_FIELDS, bitLength, wraparoundBits, type PineField } from './pine-params';
import { FIELD64_PREFIX_MAX_CALLS, field64PrefixInField, field64PrefixSums, pineQuery, type PineQueryInput } from './pine-query';
import { wraparoundDots } from './pine-wraparound';

/** Prio3's usages (its private enum) and two of ours for the wraparound seed. */
const USAGE_MEASUREMENT_SHARE = 1;
const USAGE_PROOF_SHARE = 2;
const USAGE_JOINT_RANDOMNESS = 3;
const USAGE_PROVE_RANDOMNESS = 4;
const USAGE_QUERY_RANDOMNESS = 5;
const USAGE_JOINT_RAND_SEED = 6;
const USAGE_JOINT_RAND_PART = 7;
const USAGE_WRAPAROUND_PART = 8;
const USAGE_WRAPAROUND_SEED = 9;
const SEED = 16;

type PublicShare = { jointRandParts: Buffer[] };
type InputShare = {
  measurementShare: bigint[];
  proofsShare: bigint[];
  wireMeasurementShare: Buffer;
  wireProofShare: Buffer;
  blind: Buffer;
  /** The helper's encoded measurement share when its upload was expanded to bytes (prio.ts decodeUpload). */
  encodedMeasurementShare?: Uint8Array;
};
type PrepareShare = { verifiersShare: bigint[]; jointRandomnessPart: Buffer };

/**
 * Prio3 (2 shares, TurboSHAKE128) over PineCircuit in Field128 with one proof (PINE_ALGORITHM_ID) or, since stop 38,
 * in Field64 with two independent proofs (PINE64_ALGORITHM_ID; pine-params.ts PINE_FIELDS says why two), with PINE's
 * second joint randomness:
 *   - each share's WRAPAROUND PART = XOF(blind, usage 8, [id, nonce, encoded share of y]) (the share's first d
 *     elements), the seed = XOF(0, usage 9, both parts); the public share carries Prio3's two joint-randomness
 *     parts and then these two (64 bytes);
 *   - each aggregator recomputes its own wraparound part and refuses a report whose public share differs
 *     (prepareInit), and sends the seed it used after its joint-randomness part in its prepare share; the leader
 *     refuses a report whose two seeds differ (unshardPreparationShares): without both checks a device could pick
 *     the Z_k after its vector, or show each aggregator other Z_k.
 * Everything else is Prio3's (vdaf-08, as the package does it): the shares, the joint randomness of the proofs
 * (over the whole encoded share), prove/query/decide per proof (the package's multi-proof layout: joint, prove and
 * query randomness expanded for all proofs at once with the proof count in the binder, each proof's slice in turn;
 * the proofs and verifiers concatenated), prepareNext, aggregate and the encodings. The wraparound seed and the
 * checks' dot products are computed once per report, whatever the number of proofs.
 */
export class Prio3Pine extends Prio3<number[], number[]> {
  readonly length: number;
  /** B: the measurement is y = x + B. */
  readonly offset: bigint;
  readonly normBound: bigint;
  readonly chunkLength: number;
  readonly normChunkLength: number;
  readonly circuit: PineCircuit;
  /** The field's byte conversions (field-bytes.ts). */
  readonly bytes: FieldBytes;
  readonly fieldName: PineField;

  constructor(args: PineArgs) {
    const fieldName = args.field ?? 'field128';
    const choice = PINE_FIELDS[fieldName];
    const repetitions = args.repetitions ?? DEFAULT_REPETITIONS;
    const allowedFailures = args.allowedFailures ?? DEFAULT_ALLOWED_FAILURES;
    const alpha = args.alpha ?? DEFAULT_ALPHA;
    const b1 = wraparoundBits(args.normBound, alpha);
    const chunks = pineChunkLengths(args.length, bitLength(args.normBound) + repetitions * (b1 + 2), fieldName);
    const circuit = new PineCircuit({
      length: args.length,
      offset: args.offset,
      normBound: args.normBound,
      repetitions,
      allowedFailures,
      alpha,
      chunkLength: args.chunkLength ?? chunks.chunkLength,
      normChunkLength: args.normChunkLength ?? chunks.normChunkLength,
      field: fieldName,
    });
    super(XofTurboShake128, new PineFlp(circuit), 2, choice.proofs, choice.algorithmId);
    this.circuit = circuit;
    this.bytes = choice.bytes;
    this.fieldName = fieldName;
    this.length = args.length;
    this.offset = args.offset;
    this.normBound = args.normBound;
    this.chunkLength = circuit.chunkLength;
    this.normChunkLength = circuit.normChunkLength;
  }

  /** The package's `xof.deriveSeed` (field-bytes.ts: the same bytes, faster). */
  private seed(seed: Uint8Array, usage: number, parts: Uint8Array[]): Buffer {
    return Buffer.from(deriveSeed(seed, this.domainSeparationTag(usage), parts));
  }

  /** The package's XOF expansion (field-bytes.ts: the same elements, faster). */
  private expand(length: number, usage: number, seed: Uint8Array, binder: Uint8Array): bigint[] {
    return this.bytes.expand(seed, this.domainSeparationTag(usage), binder, length);
  }

  /** Proof i's slice of a vector laid out per proof (the package's `chunk`). */
  private static slice(values: readonly bigint[], length: number, i: number): bigint[] {
    return values.slice(length * i, length * (i + 1));
  }

  /** `encodedPrefix`: the share's first d elements, encoded (the first size·d bytes of its encoding). */
  private wraparoundPart(blind: Uint8Array, id: number, nonce: Uint8Array, encodedPrefix: Uint8Array): Buffer {
    return this.seed(blind, USAGE_WRAPAROUND_PART, [Uint8Array.of(id), nonce, encodedPrefix]);
  }

  /**
   * The honest encoder's second stage (the slack, the check results). A test's forger overrides it to send what
   * it likes once it knows the seed; the proof is then computed honestly over that.
   */
  encodeChecks(prefix: readonly bigint[], seed: Uint8Array, precomputed?: { dots: bigint[]; zSums: number[] }): bigint[] {
    return this.circuit.encodeChecks(prefix, seed, precomputed);
  }

  override async shard(measurement: number[], nonce: Buffer, rand: Buffer): Promise<{ publicShare: PublicShare; inputShares: InputShare[] }> {
    if (rand.length !== this.randSize) throw new Error(`rand length was ${rand.length} but must be ${this.randSize}`);
    const field = this.flp.field;
    const circuit = this.circuit;
    const { bytes, proofs } = this;
    const size = bytes.size;
    const seedAt = (i: number) => rand.subarray(SEED * i, SEED * (i + 1));
    // rand: helper's measurement seed, proof seed, blind; leader's blind; prove seed (Prio3's layout)
    const [helperMeasurementSeed, helperProofSeed, helperBlind, leaderBlind, proveSeed] = [0, 1, 2, 3, 4].map(seedAt) as [
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
    ];
    const helperId = Buffer.of(1);
    const dst = (usage: number) => this.domainSeparationTag(usage);
    // the shares as bytes (the helper's are the XOF's own bytes): no BigInt per entry for the d entries of y
    const helperEncoded = bytes.expandBytes(helperMeasurementSeed, dst(USAGE_MEASUREMENT_SHARE), helperId, circuit.measurementLen);
    const helperProof = this.expand(this.flp.proofLen * proofs, USAGE_PROOF_SHARE, helperProofSeed, Buffer.of(proofs, 1));
    const d = this.length;

    // stage 1: y, its shares, the wraparound seed
    const prefix = circuit.encodePrefix(measurement);
    const leaderPrefixEncoded = bytes.subEncoded(prefix, helperEncoded, d);
    const wrParts = [
      this.wraparoundPart(leaderBlind, 0, nonce, leaderPrefixEncoded),
      this.wraparoundPart(helperBlind, 1, nonce, helperEncoded.subarray(0, size * d)),
    ];
    const wrSeed = this.seed(Buffer.alloc(SEED), USAGE_WRAPAROUND_SEED, wrParts);

    // stage 2: the checks, the whole encoding, Prio3's joint randomness and proof
    const dots = wraparoundDots(field, wrSeed, circuit.repetitions, prefix, d);
    const checks = this.encodeChecks(prefix, wrSeed, dots);
    if (d + checks.length !== circuit.measurementLen) throw new Error(`the encoding has ${d + checks.length} elements, expected ${circuit.measurementLen}`);
    const encoded = prefix.concat(checks);
    const leaderChecks = bytes.sub(checks, bytes.decode(helperEncoded.subarray(size * d)));
    const leaderEncoded = Buffer.concat([leaderPrefixEncoded, bytes.encode(leaderChecks)]);
    const jrParts = [
      this.seed(leaderBlind, USAGE_JOINT_RAND_PART, [Uint8Array.of(0), nonce, leaderEncoded]),
      this.seed(helperBlind, USAGE_JOINT_RAND_PART, [helperId, nonce, helperEncoded]),
    ];
    const jrSeed = this.seed(Buffer.alloc(SEED), USAGE_JOINT_RAND_SEED, jrParts);
    const { jointRandLen, proveRandLen } = this.flp;
    const jointRands = this.expand(jointRandLen * proofs, USAGE_JOINT_RANDOMNESS, jrSeed, Buffer.of(proofs));
    const proveRands = this.expand(proveRandLen * proofs, USAGE_PROVE_RANDOMNESS, proveSeed, Buffer.of(proofs));
    circuit.wraparoundSeed = wrSeed;
    circuit.dotsFor = { seed: wrSeed, input: encoded, ...dots };
    const proof: bigint[] = [];
    try {
      for (let i = 0; i < proofs; i++)
        for (const v of this.flp.prove(encoded, Prio3Pine.slice(proveRands, proveRandLen, i), Prio3Pine.slice(jointRands, jointRandLen, i))) proof.push(v);
    } finally {
      circuit.dotsFor = null;
    }
    const leaderProof = bytes.sub(proof, helperProof);
    // the measurement shares as field elements only if asked for (tests): the uploads need their bytes only
    return {
      publicShare: { jointRandParts: [...jrParts, ...wrParts] },
      inputShares: [
        {
          get measurementShare() {
            return bytes.decode(leaderEncoded);
          },
          proofsShare: leaderProof,
          wireMeasurementShare: leaderEncoded,
          wireProofShare: Buffer.from(bytes.encode(leaderProof)),
          blind: leaderBlind,
        },
        {
          get measurementShare() {
            return bytes.decode(helperEncoded);
          },
          proofsShare: helperProof,
          wireMeasurementShare: helperMeasurementSeed,
          wireProofShare: helperProofSeed,
          blind: helperBlind,
        },
      ],
    };
  }

  override async prepareInit(
    verifyKey: Buffer,
    aggregatorId: number,
    _aggregationParameter: null,
    nonce: Buffer,
    { jointRandParts }: PublicShare,
    inputShare: InputShare,
  ): Promise<{ preparationState: { correctedJointRandSeed: Buffer; outputShare: bigint[] }; preparationShare: PrepareShare }> {
    if (jointRandParts.length !== 4) throw new Error('the public share must hold 4 seeds');
    // the leader's upload carries the encoding; the helper's seeds are expanded (decodeUpload), so encode them.
    // inputShare.measurementShare is read only where needed: prio.ts decodes it lazily (stop 39)
    const { blind, proofsShare, wireMeasurementShare, encodedMeasurementShare } = inputShare;
    const { bytes, proofs } = this;
    const measurementLen = this.flp.measurementLen;
    const encoded =
      wireMeasurementShare.length === bytes.size * measurementLen
        ? wireMeasurementShare
        : (encodedMeasurementShare ?? bytes.encode(inputShare.measurementShare));
    const wrParts = jointRandParts.slice(2);
    const own = this.wraparoundPart(blind, aggregatorId, nonce, encoded.subarray(0, bytes.size * this.length));
    if (!own.equals(wrParts[aggregatorId]!)) throw new Error("the public share's wraparound part does not match this aggregator's share");
    const wrSeed = this.seed(Buffer.alloc(SEED), USAGE_WRAPAROUND_SEED, wrParts);
    const jrParts = jointRandParts.slice(0, 2);
    const jointRandomnessPart = this.seed(blind, USAGE_JOINT_RAND_PART, [Uint8Array.of(aggregatorId), nonce, encoded]);
    jrParts[aggregatorId] = jointRandomnessPart;
    const correctedJointRandSeed = this.seed(Buffer.alloc(SEED), USAGE_JOINT_RAND_SEED, jrParts);
    const { jointRandLen, queryRandLen, proofLen } = this.flp;
    const jointRands = this.expand(jointRandLen * proofs, USAGE_JOINT_RANDOMNESS, correctedJointRandSeed, Buffer.of(proofs));
    const queryRands = this.expand(queryRandLen * proofs, USAGE_QUERY_RANDOMNESS, verifyKey, Buffer.concat([Buffer.of(proofs), nonce]));
    const circuit = this.circuit;
    // the share's dot products from its encoding (32-bit words, no BigInt per entry)
    const dots = wraparoundDots(this.flp.field, wrSeed, circuit.repetitions, encoded, this.length);
    const verifiersShare: bigint[] = [];
    const slice = (values: readonly bigint[], length: number, i: number) => Prio3Pine.slice(values, length, i);
    if (this.fieldName === 'field64' && circuit.gadgetCalls[1]! <= FIELD64_PREFIX_MAX_CALLS) {
      // Field64 (stop 39): the query from the encoding's words (pine-query.ts), no field element per entry of y
      const d = this.length;
      const words = encoded.byteOffset % 4 === 0 ? new Uint32Array(encoded.buffer, encoded.byteOffset, 2 * d) : new Uint32Array(encoded.slice(0, 8 * d).buffer);
      if (!field64PrefixInField(words, d)) throw new RangeError('an element of the share is not in the field');
      const input: PineQueryInput = {
        tail: bytes.decode(encoded.subarray(8 * d, 8 * measurementLen)),
        prefixSums: field64PrefixSums(words, d, circuit.normChunkLength),
        ...dots,
      };
      for (let i = 0; i < proofs; i++)
        for (const v of pineQuery(
          circuit,
          input,
          slice(proofsShare, proofLen, i),
          slice(queryRands, queryRandLen, i),
          slice(jointRands, jointRandLen, i),
          this.shares,
        ))
          verifiersShare.push(v);
      const prefix = encoded.subarray(0, 8 * d);
      return {
        preparationShare: { verifiersShare, jointRandomnessPart: Buffer.concat([jointRandomnessPart, wrSeed]) },
        // decoded only if asked for (prio.ts keeps the prefix's bytes as the output share)
        preparationState: {
          correctedJointRandSeed,
          get outputShare() {
            return bytes.decode(prefix);
          },
        },
      };
    }
    const measurementShare = inputShare.measurementShare;
    circuit.wraparoundSeed = wrSeed;
    circuit.dotsFor = { seed: wrSeed, input: measurementShare, ...dots };
    try {
      for (let i = 0; i < proofs; i++) {
        const verifier = this.flp.query(
          measurementShare,
          slice(proofsShare, proofLen, i),
          slice(queryRands, queryRandLen, i),
          slice(jointRands, jointRandLen, i),
          this.shares,
        );
        for (const v of verifier) verifiersShare.push(v);
      }
    } finally {
      circuit.dotsFor = null;
    }
    return {
      preparationShare: { verifiersShare, jointRandomnessPart: Buffer.concat([jointRandomnessPart, wrSeed]) },
      preparationState: { correctedJointRandSeed, outputShare: this.flp.truncate(measurementShare) },
    };
  }

  /** The package's encoding (its field.encode, by field-bytes.ts: the same bytes). */
  override encodePreparationShare({ verifiersShare, jointRandomnessPart }: PrepareShare): Buffer {
    return Buffer.concat([this.bytes.encode(verifiersShare), jointRandomnessPart]);
  }

  override async unshardPreparationShares(_aggregationParameter: null, shares: PrepareShare[]): Promise<{ jointRand: Buffer }> {
    const [a, b] = shares as [PrepareShare, PrepareShare];
    if (!a.jointRandomnessPart.subarray(SEED).equals(b.jointRandomnessPart.subarray(SEED))) throw new Error('the aggregators used different wraparound seeds');
    const field = this.flp.field;
    const { verifierLen } = this.flp;
    if (a.verifiersShare.length !== verifierLen * this.proofs || b.verifiersShare.length !== verifierLen * this.proofs)
      throw new Error('Verify error: wrong verifier length');
    const verifiers = field.vecAdd(a.verifiersShare, b.verifiersShare);
    // every proof must verify (a forger needs each proof's joint randomness to miss its circuit's roots)
    for (let i = 0; i < this.proofs; i++)
      if (!this.flp.decide(Prio3Pine.slice(verifiers, verifierLen, i))) throw new Error(`Verify error (proof ${i + 1} of ${this.proofs})`);
    return {
      jointRand: this.seed(Buffer.alloc(SEED), USAGE_JOINT_RAND_SEED, [a.jointRandomnessPart.subarray(0, SEED), b.jointRandomnessPart.subarray(0, SEED)]),
    };
  }
}
