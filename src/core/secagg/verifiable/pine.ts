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
import { decode128, deriveSeed128, encode128, expand128, expandBytes128, sub128, subEncoded128 } from './field128';
import { PineCircuit, pineChunkLengths, type PineArgs } from './pine-circuit';
import { PineFlp } from './pine-flp';
import { DEFAULT_ALLOWED_FAILURES, DEFAULT_ALPHA, DEFAULT_REPETITIONS, PINE_ALGORITHM_ID, bitLength, wraparoundBits } from './pine-params';
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
 * Prio3 (2 shares, 1 proof, TurboSHAKE128) over PineCircuit, with PINE's second joint randomness:
 *   - each share's WRAPAROUND PART = XOF(blind, usage 8, [id, nonce, encoded share of y]) (the share's first d
 *     elements), the seed = XOF(0, usage 9, both parts); the public share carries Prio3's two joint-randomness
 *     parts and then these two (64 bytes);
 *   - each aggregator recomputes its own wraparound part and refuses a report whose public share differs
 *     (prepareInit), and sends the seed it used after its joint-randomness part in its prepare share; the leader
 *     refuses a report whose two seeds differ (unshardPreparationShares): without both checks a device could pick
 *     the Z_k after its vector, or show each aggregator other Z_k.
 * Everything else is Prio3's (vdaf-08, as the package does it): the shares, the joint randomness of the proof
 * (over the whole encoded share), prove/query/decide, prepareNext, aggregate and the encodings.
 */
export class Prio3Pine extends Prio3<number[], number[]> {
  readonly length: number;
  /** B: the measurement is y = x + B. */
  readonly offset: bigint;
  readonly normBound: bigint;
  readonly chunkLength: number;
  readonly normChunkLength: number;
  readonly circuit: PineCircuit;

  constructor(args: PineArgs) {
    const repetitions = args.repetitions ?? DEFAULT_REPETITIONS;
    const allowedFailures = args.allowedFailures ?? DEFAULT_ALLOWED_FAILURES;
    const alpha = args.alpha ?? DEFAULT_ALPHA;
    const b1 = wraparoundBits(args.normBound, alpha);
    const chunks = pineChunkLengths(args.length, bitLength(args.normBound) + repetitions * (b1 + 2));
    const circuit = new PineCircuit({
      length: args.length,
      offset: args.offset,
      normBound: args.normBound,
      repetitions,
      allowedFailures,
      alpha,
      chunkLength: args.chunkLength ?? chunks.chunkLength,
      normChunkLength: args.normChunkLength ?? chunks.normChunkLength,
    });
    super(XofTurboShake128, new PineFlp(circuit), 2, 1, PINE_ALGORITHM_ID);
    this.circuit = circuit;
    this.length = args.length;
    this.offset = args.offset;
    this.normBound = args.normBound;
    this.chunkLength = circuit.chunkLength;
    this.normChunkLength = circuit.normChunkLength;
  }

  /** The package's `xof.deriveSeed` (field128.ts: the same bytes, faster). */
  private seed(seed: Uint8Array, usage: number, parts: Uint8Array[]): Buffer {
    return Buffer.from(deriveSeed128(seed, this.domainSeparationTag(usage), parts));
  }

  /** The package's XOF expansion (field128.ts: the same elements, faster). */
  private expand(length: number, usage: number, seed: Uint8Array, binder: Uint8Array): bigint[] {
    return expand128(seed, this.domainSeparationTag(usage), binder, length);
  }

  /** `encodedPrefix`: the share's first d elements, encoded (the first 16·d bytes of its encoding). */
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
    const helperEncoded = expandBytes128(helperMeasurementSeed, dst(USAGE_MEASUREMENT_SHARE), helperId, circuit.measurementLen);
    const helperProof = this.expand(this.flp.proofLen, USAGE_PROOF_SHARE, helperProofSeed, Buffer.of(1, 1));
    const d = this.length;

    // stage 1: y, its shares, the wraparound seed
    const prefix = circuit.encodePrefix(measurement);
    const leaderPrefixEncoded = subEncoded128(prefix, helperEncoded, d);
    const wrParts = [
      this.wraparoundPart(leaderBlind, 0, nonce, leaderPrefixEncoded),
      this.wraparoundPart(helperBlind, 1, nonce, helperEncoded.subarray(0, 16 * d)),
    ];
    const wrSeed = this.seed(Buffer.alloc(SEED), USAGE_WRAPAROUND_SEED, wrParts);

    // stage 2: the checks, the whole encoding, Prio3's joint randomness and proof
    const dots = wraparoundDots(field, wrSeed, circuit.repetitions, prefix, d);
    const checks = this.encodeChecks(prefix, wrSeed, dots);
    if (d + checks.length !== circuit.measurementLen) throw new Error(`the encoding has ${d + checks.length} elements, expected ${circuit.measurementLen}`);
    const encoded = prefix.concat(checks);
    const leaderChecks = sub128(checks, decode128(helperEncoded.subarray(16 * d)));
    const leaderEncoded = Buffer.concat([leaderPrefixEncoded, encode128(leaderChecks)]);
    const jrParts = [
      this.seed(leaderBlind, USAGE_JOINT_RAND_PART, [Uint8Array.of(0), nonce, leaderEncoded]),
      this.seed(helperBlind, USAGE_JOINT_RAND_PART, [helperId, nonce, helperEncoded]),
    ];
    const jrSeed = this.seed(Buffer.alloc(SEED), USAGE_JOINT_RAND_SEED, jrParts);
    const jointRand = this.expand(this.flp.jointRandLen, USAGE_JOINT_RANDOMNESS, jrSeed, Buffer.of(1));
    const proveRand = this.expand(this.flp.proveRandLen, USAGE_PROVE_RANDOMNESS, proveSeed, Buffer.of(1));
    circuit.wraparoundSeed = wrSeed;
    circuit.dotsFor = { seed: wrSeed, input: encoded, ...dots };
    let proof: bigint[];
    try {
      proof = this.flp.prove(encoded, proveRand, jointRand);
    } finally {
      circuit.dotsFor = null;
    }
    const leaderProof = sub128(proof, helperProof);
    // the measurement shares as field elements only if asked for (tests): the uploads need their bytes only
    return {
      publicShare: { jointRandParts: [...jrParts, ...wrParts] },
      inputShares: [
        {
          get measurementShare() {
            return decode128(leaderEncoded);
          },
          proofsShare: leaderProof,
          wireMeasurementShare: leaderEncoded,
          wireProofShare: Buffer.from(encode128(leaderProof)),
          blind: leaderBlind,
        },
        {
          get measurementShare() {
            return decode128(helperEncoded);
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
    { blind, measurementShare, proofsShare, wireMeasurementShare, encodedMeasurementShare }: InputShare,
  ): Promise<{ preparationState: { correctedJointRandSeed: Buffer; outputShare: bigint[] }; preparationShare: PrepareShare }> {
    if (jointRandParts.length !== 4) throw new Error('the public share must hold 4 seeds');
    // the leader's upload carries the encoding; the helper's seeds are expanded (decodeUpload), so encode them
    const encoded =
      wireMeasurementShare.length === 16 * measurementShare.length ? wireMeasurementShare : (encodedMeasurementShare ?? encode128(measurementShare));
    const wrParts = jointRandParts.slice(2);
    const own = this.wraparoundPart(blind, aggregatorId, nonce, encoded.subarray(0, 16 * this.length));
    if (!own.equals(wrParts[aggregatorId]!)) throw new Error("the public share's wraparound part does not match this aggregator's share");
    const wrSeed = this.seed(Buffer.alloc(SEED), USAGE_WRAPAROUND_SEED, wrParts);
    const jrParts = jointRandParts.slice(0, 2);
    const jointRandomnessPart = this.seed(blind, USAGE_JOINT_RAND_PART, [Uint8Array.of(aggregatorId), nonce, encoded]);
    jrParts[aggregatorId] = jointRandomnessPart;
    const correctedJointRandSeed = this.seed(Buffer.alloc(SEED), USAGE_JOINT_RAND_SEED, jrParts);
    const jointRand = this.expand(this.flp.jointRandLen, USAGE_JOINT_RANDOMNESS, correctedJointRandSeed, Buffer.of(1));
    const queryRand = this.expand(this.flp.queryRandLen, USAGE_QUERY_RANDOMNESS, verifyKey, Buffer.concat([Buffer.of(1), nonce]));
    const circuit = this.circuit;
    circuit.wraparoundSeed = wrSeed;
    // the share's dot products from its encoding (32-bit words, no BigInt per entry), for the query's eval
    circuit.dotsFor = { seed: wrSeed, input: measurementShare, ...wraparoundDots(this.flp.field, wrSeed, circuit.repetitions, encoded, this.length) };
    let verifiersShare: bigint[];
    try {
      verifiersShare = this.flp.query(measurementShare, proofsShare, queryRand, jointRand, this.shares);
    } finally {
      circuit.dotsFor = null;
    }
    return {
      preparationShare: { verifiersShare, jointRandomnessPart: Buffer.concat([jointRandomnessPart, wrSeed]) },
      preparationState: { correctedJointRandSeed, outputShare: this.flp.truncate(measurementShare) },
    };
  }

  /** The package's encoding (its field.encode, by field128.ts: the same bytes). */
  override encodePreparationShare({ verifiersShare, jointRandomnessPart }: PrepareShare): Buffer {
    return Buffer.concat([encode128(verifiersShare), jointRandomnessPart]);
  }

  override async unshardPreparationShares(_aggregationParameter: null, shares: PrepareShare[]): Promise<{ jointRand: Buffer }> {
    const [a, b] = shares as [PrepareShare, PrepareShare];
    if (!a.jointRandomnessPart.subarray(SEED).equals(b.jointRandomnessPart.subarray(SEED))) throw new Error('the aggregators used different wraparound seeds');
    const field = this.flp.field;
    if (!this.flp.decide(field.vecAdd(a.verifiersShare, b.verifiersShare))) throw new Error('Verify error');
    return {
      jointRand: this.seed(Buffer.alloc(SEED), USAGE_JOINT_RAND_SEED, [a.jointRandomnessPart.subarray(0, SEED), b.jointRandomnessPart.subarray(0, SEED)]),
    };
  }
}
