/**
 * PineCircuit, the validity circuit of the verifiable mode's norm check (Prio3Pine in pine.ts; issue 20: "a device
 * that tampers with its vector can only move the sum within its clipping bound"), after PINE — Rothblum, Omri, Chen, Talwar, "PINE: Efficient Norm-Bound
 * Verification for Secret-Shared Vectors" (arXiv 2311.10237) and the IETF draft draft-chen-cfrg-vdaf-pine. It
 * replaces stop 33's Prio3L2VecSum, which bit-decomposed every entry (b field elements per entry, ~41× the 32-bit
 * plaintext): here every entry is ONE field element and only a few scalars are sent as bits.
 *
 * No maintained JavaScript PINE exists (npm, 2026-12-07: no `@divviup/pine` or other PINE VDAF; libprio-rs and the
 * draft's Python proof of concept are not JavaScript), so this file is written by hand from the paper's and the
 * draft's description, on the pieces ISRG's `@divviup/prio3` 0.8.0 provides: the fully linear proof (`FlpGeneric`
 * with its `Circuit`, the gadgets `Mul` and `ParallelSum`), `Field128`, TurboSHAKE128 (`XofTurboShake128`)
 * and `Prio3`'s wire format and prepare flow. Hand-written: the validity circuit (`PineCircuit`), a faster
 * sum-of-squares gadget (`SquareSum`), the exact dot products of the checks (`wraparoundDots`), the wire
 * interpolation of prove and query (`PineFlp`, an inverse NTT instead of the package's per-wire `exp`), and the three
 * places where Prio3's flow must change for PINE's second kind of joint randomness (`Prio3Pine.shard`,
 * `prepareInit`, `unshardPreparationShares`), following the package's own code for everything else (field128.ts:
 * its byte conversions, faster). Choices that
 * differ from the draft, each said where it is made: the sum check uses one slack (s = N − ‖x‖², nb bits, as stop 33's circuit did)
 * instead of the draft's V0 and U0 bits; the soundness argument of the wraparound check is the short one below
 * (it needs a field much larger than d·w², which Field128 is); the success bits must sum to exactly r_pass.
 *
 *   measurement: y ∈ Z^d, standing for x = y − B (the offset of Prio3SumVec in prio.ts, so the collector's
 *                decoding is the same); the honest device has x ∈ [−B, B)^d and ‖x‖² ≤ N.
 *   encoded:     y_0 … y_(d−1)         one field element per entry (no bits)
 *                s: nb bits            the slack N − ‖x‖² (nb = bit length of N)
 *                r × (b1 bits of V_k, one bit g_k)
 *                S_0 … S_(r−1)         field elements
 *   wraparound checks: Z_k ∈ {−1, 0, +1}^d (k < r), each entry −1 / 0 / +1 with probability 1/4, 1/2, 1/4, from
 *                TurboSHAKE128 of the WRAPAROUND SEED, which is derived from the device's shares of y (both
 *                aggregators recompute their part; see Prio3Pine) — so Z is fixed only once y is. Y_k = ⟨Z_k, x⟩.
 *                The device passes check k when Y_k ∈ [−2^(b1−1), 2^(b1−1)) (as centred field values); then
 *                V_k = Y_k + 2^(b1−1) ∈ [0, 2^b1), g_k = 1, S_k = 0. On a failed one: g_k = 0, V_k = 0 and S_k =
 *                Y_k + 2^(b1−1) (anything goes). It claims exactly r_pass = r − allowedFailures passes (extra
 *                passes are claimed as failures) and refuses to send when it has fewer.
 *   circuit:     C = Σ_j ρ^(j+1)·a_j·b_j                    gadget 0, ParallelSum(Mul): (w, w − 1) for every bit
 *                                                          w, then (g_k, S_k): bits are bits, g_k·S_k = 0
 *                  + r_n·(Σ x_i² + s − N)                  gadget 1, SquareSum (below) over x_i = y_i − B
 *                  + Σ_k r_w^(k+1)·(Y_k + 2^(b1−1) − V_k − S_k)   affine: V_k, S_k match the check
 *                  + r_c·(Σ_k g_k − r_pass)                affine: r_pass checks claimed passed
 *   output:      y (d entries); the collector subtracts count·B, as Prio3SumVec's.
 *
 * Why accepted ⇒ ‖x‖² ≤ N (x_i read as centred integers in (−q/2, q/2)), apart from the two soundness errors:
 *   - the FLP: C = 0 for random ρ, r_n, r_w, r_c but a term nonzero has probability ≤ (pairs + r + 2)/q per proof
 *     (the degrees of C in ρ, r_w, r_n, r_c; pine-params.ts flpLog2Soundness), and the query's ≈ (gadget
 *     degree·calls)/q. Field128, one proof: < 2^−116 per try. Field64 (stop 38): the joint randomness is Fiat–Shamir
 *     over the shares, so a device can grind it offline; one proof gives ≈ 2^−52.9 per try at the app's length (pairs
 *     ≈ 2,071, r = 128), so Field64 runs TWO independent proofs (each its own joint, prove and query randomness):
 *     ≈ 2^−105.8 per try, below the wraparound checks' 2^−87.3; the query's ≈ 2^−58 per proof is not grindable (the
 *     verify key is secret). Field64 still holds case 1 below: d·w² ≈ 2^46.4 at the app's length, ≪ q/2 = 2^63;
 *   - all terms zero ⇒ bits are bits, and every claimed pass k has Y_k ∈ [−2^(b1−1), 2^(b1−1)) mod q.
 *     Let w = 2^b1 − 1 (the accepted window is w + 1 consecutive residues). Case 1: every |x_i| ≤ w. Then
 *     Σ x_i² ≤ d·w² and Σ x_i² + s − N ∈ (−q, q) (checked in the constructor: d·w² + 2^nb < q/2), so ≡ 0 mod q
 *     means = 0: ‖x‖² = N − s ≤ N as integers. Case 2: some |x_i| = a > w. Fix Z_k's other entries: Y_k takes
 *     c − x_i, c, c + x_i with probability 1/4, 1/2, 1/4; c is more than w from both others on the circle Z_q, so
 *     the window holds c or (some of) c ± x_i, never both: check k passes with probability ≤ 1/2, independently
 *     over k (Z as a random oracle of the seed). Accepted needs ≥ r_pass passes: probability ≤ P[Bin(r, 1/2) ≥
 *     r_pass] (pineErrors: 2^−87 at the defaults r = 128, r_pass = 120). A device may retry with fresh shares
 *     (the seed is a hash of them), so that is the error per try: 2^40 tries give 2^−47.
 *   - completeness: an honest x (‖x‖² ≤ N) fails check k when |⟨Z_k, x⟩| ≥ 2^(b1−1) − 1 ≥ α√N; ⟨Z_k, x⟩ is
 *     subgaussian with variance proxy ‖x‖²/2 (E e^(λz) = (1 + cosh λ)/2 ≤ e^(λ²/4)), so η = P[fail] ≤ 2e^(−α²);
 *     the device fails to send with probability P[Bin(r, η) > allowedFailures] (pineErrors: < 10^−30 at the
 *     defaults, α = 3.5).
 *
 * Affine constants on shares: as in the package's SumVec, a constant c enters as c/shares; padded gadget inputs are 0 (t² and the
 * Mul of (0, 0) keep 0 ↦ 0). The package's Proof/Query wrappers copy the circuit's own properties and call `eval`
 * with themselves as `this`: eval uses only own fields and module functions, and the wraparound seed is set on
 * the circuit (`wraparoundSeed`) right before each prove/query (both synchronous).
 */
import { type Field } from '@divviup/field';
import { Circuit } from '@divviup/prio3/dist/circuit.js';
import { Gadget } from '@divviup/prio3/dist/gadget.js';
import { ParallelSum } from '@divviup/prio3/dist/gadgets/parallelSum.js';
import { Mul } from '@divviup/prio3/dist/gadgets/mul.js';
import { bitLength, PINE_FIELDS, wraparoundBits, type PineField } from './pine-params';
import { wraparoundDots } from './pine-wraparound';

/**
 * Σ_j t_j² over `count` inputs: what ParallelSum(PolyEval([0, 0, 1])) computes, with a faster polynomial step (the
 * prover's largest cost, profiled at stop 34): the package's reduces every product mod q (its mulPolys, p² per
 * input); this sums the raw products of every input and reduces each of the 2p − 1 coefficients once, and counts
 * each cross product once (p(p+1)/2 per input). The output polynomial keeps its full length 2p − 1 (the proof's
 * length is fixed by it).
 */
export class SquareSum extends Gadget {
  arity: number;
  degree = 2;
  constructor(count: number) {
    super();
    this.arity = count;
  }

  eval(field: Field, input: bigint[]): bigint {
    this.ensureArity(input);
    let s = 0n;
    for (const v of input) s += v * v;
    return s % field.modulus;
  }

  evalPoly(field: Field, polys: bigint[][]): bigint[] {
    this.ensurePolyArity(polys);
    const p = polys[0]!.length;
    const squares = new Array<bigint>(2 * p - 1).fill(0n);
    const cross = new Array<bigint>(2 * p - 1).fill(0n);
    for (const w of polys)
      for (let a = 0; a < p; a++) {
        const wa = w[a]!;
        if (wa === 0n) continue;
        squares[2 * a] = squares[2 * a]! + wa * wa;
        for (let b = a + 1; b < p; b++) cross[a + b] = cross[a + b]! + wa * w[b]!;
      }
    return squares.map((v, k) => (v + 2n * cross[k]!) % field.modulus);
  }
}

export interface PineArgs {
  /** d: entries per vector. */
  length: number;
  /** B: the measurement is y = x + B (prio.ts's offset). */
  offset: bigint;
  /** N: the largest accepted ‖x‖². */
  normBound: bigint;
  /** r: wraparound checks (default 128). */
  repetitions?: number;
  /** r − r_pass: failed checks an honest device may have (default 8). */
  allowedFailures?: number;
  /** α of the window (default 3.5). */
  alpha?: number;
  /** Gadget 0's chunk (bit checks and g·S) and gadget 1's (squares). Default: pineChunkLengths. */
  chunkLength?: number;
  normChunkLength?: number;
  /** The field (default Field128, one proof; Field64 with two proofs since stop 38: pine-params.ts PINE_FIELDS). */
  field?: PineField;
}

/**
 * Default chunks: gadget 1 (the d squares) in calls of ⌈d/15⌉ (p = 16 points: its proof adds ≈ d/15 field
 * elements, 6.7 % of the upload, and its polynomial work grew with p before stop 35's Gram prover: measured the
 * better trade at the app's length then; Field128 keeps it, its layout is fixed by its algorithm id); gadget 0's few
 * hundred bit checks in ⌈n/15⌉ as well. Field64 (stop 38, a new id and layout) takes p = 64 for the squares, ⌈d/63⌉:
 * its two proofs each add ≈ d/63 elements instead of d/15 (2.08× the plaintext at the app's delta instead of 2.28×),
 * and the Gram prover and the verifier's Lagrange weights cost about the same per entry at either p.
 */
export function pineChunkLengths(length: number, checkedPairs: number, field: PineField = 'field128'): { chunkLength: number; normChunkLength: number } {
  const points = field === 'field64' ? 64 : 16;
  return { chunkLength: Math.max(1, Math.ceil(checkedPairs / 15)), normChunkLength: Math.max(1, Math.ceil(length / (points - 1))) };
}

export class PineCircuit extends Circuit<number[], number[]> {
  // every field an own property (see the module comment)
  field: Field;
  gadgets: Gadget[];
  gadgetCalls: number[];
  jointRandLen = 4;
  measurementLen: number;
  outputLen: number;
  length: number;
  offset: bigint;
  normBound: bigint;
  normBits: number;
  repetitions: number;
  passes: number;
  alpha: number;
  /** b1: bits of each V_k. */
  checkBits: number;
  chunkLength: number;
  normChunkLength: number;
  /** The seed of the Z_k, set before each prove and query (Prio3Pine). */
  wraparoundSeed: Uint8Array | null = null;
  /**
   * The dot products of `input` under `seed`, computed once by Prio3Pine (the prover's for its encoding, an
   * aggregator's from its share's bytes) and used by eval when it is given that very array under that seed.
   */
  dotsFor: {
    seed: Uint8Array;
    input: readonly bigint[];
    dots: bigint[];
    zSums: number[];
    /**
     * x_i = y_i − B/shares for i < d, filled by the first eval of this input (the object is shared by the package's
     * Proof/Query wrappers, which copy the circuit's properties): the second proof of a Field64 report reuses them
     * instead of d more BigInt subtractions and allocations.
     */
    centred?: { shares: number; values: bigint[] };
  } | null = null;

  constructor(a: Required<Omit<PineArgs, 'chunkLength' | 'normChunkLength' | 'field'>> & { chunkLength: number; normChunkLength: number; field?: PineField }) {
    super();
    this.field = PINE_FIELDS[a.field ?? 'field128'].bytes.field;
    for (const [name, v] of [
      ['length', a.length],
      ['repetitions', a.repetitions],
      ['chunkLength', a.chunkLength],
      ['normChunkLength', a.normChunkLength],
    ] as const)
      if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be a positive integer (got ${v})`);
    if (!(Number.isInteger(a.allowedFailures) && a.allowedFailures >= 0 && a.allowedFailures < a.repetitions))
      throw new RangeError(`allowedFailures must be an integer in [0, repetitions) (got ${a.allowedFailures})`);
    if (!(a.alpha > 0)) throw new RangeError(`alpha must be positive (got ${a.alpha})`);
    if (!(typeof a.normBound === 'bigint' && a.normBound >= 1n)) throw new RangeError(`the norm bound must be a positive bigint (got ${String(a.normBound)})`);
    this.length = a.length;
    this.offset = a.offset;
    this.normBound = a.normBound;
    this.normBits = bitLength(a.normBound);
    this.repetitions = a.repetitions;
    this.passes = a.repetitions - a.allowedFailures;
    this.alpha = a.alpha;
    this.checkBits = wraparoundBits(a.normBound, a.alpha);
    this.chunkLength = a.chunkLength;
    this.normChunkLength = a.normChunkLength;
    // case 1 of the module comment: d·w² + 2^nb < q/2
    const w = (1n << BigInt(this.checkBits)) - 1n;
    if (BigInt(a.length) * w * w + (1n << BigInt(this.normBits)) >= this.field.modulus / 2n)
      throw new RangeError('length and norm bound too large for the field (d·w² + 2^nb ≥ q/2)');
    this.measurementLen = a.length + this.normBits + a.repetitions * (this.checkBits + 1) + a.repetitions;
    this.outputLen = a.length;
    const pairs = this.normBits + a.repetitions * (this.checkBits + 1) + a.repetitions;
    this.gadgets = [new ParallelSum(new Mul(), a.chunkLength), new SquareSum(a.normChunkLength)];
    this.gadgetCalls = [Math.ceil(pairs / a.chunkLength), Math.ceil(a.length / a.normChunkLength)];
  }

  eval(input: bigint[], jointRand: bigint[], shares: number): bigint {
    this.ensureValidEval(input, jointRand);
    if (!this.wraparoundSeed) throw new Error('the wraparound seed is not set');
    const field = this.field;
    const [rho, rn, rw, rc] = jointRand as [bigint, bigint, bigint, bigint];
    const sharesInv = field.exp(BigInt(shares), -1n);
    const [mulGadget, squareGadget] = this.gadgets as [Gadget, Gadget];
    const [mulCalls, squareCalls] = this.gadgetCalls as [number, number];
    const d = this.length;
    const r = this.repetitions;
    const b1 = this.checkBits;
    const slackAt = d;
    const checksAt = d + this.normBits;
    const sAt = checksAt + r * (b1 + 1);

    // gadget 0: (ρ^(j+1)·w, w − 1/shares) for every bit, then (ρ^(j+1)·g_k, S_k)
    const pairs = this.normBits + r * (b1 + 1) + r;
    let mulCheck = 0n;
    let power = rho;
    const chunk = this.chunkLength;
    const pair = new Array<bigint>(2 * chunk);
    for (let call = 0; call < mulCalls; call++) {
      for (let c = 0; c < chunk; c++) {
        const j = call * chunk + c;
        let a = 0n;
        let b = 0n;
        if (j < pairs - r) {
          const w = input[slackAt + j]!;
          a = w;
          b = field.sub(w, sharesInv);
        } else if (j < pairs) {
          const k = j - (pairs - r);
          a = input[checksAt + k * (b1 + 1) + b1]!;
          b = input[sAt + k]!;
        }
        pair[2 * c] = field.mul(power, a);
        pair[2 * c + 1] = b;
        power = field.mul(power, rho);
      }
      mulCheck = field.add(mulCheck, mulGadget.eval(field, pair));
    }

    // gadget 1: Σ x_i², x_i = y_i − B/shares (computed once per input and shares: dotsFor.centred)
    const offsetShare = field.mul(this.offset, sharesInv);
    const cached = this.dotsFor?.seed === this.wraparoundSeed && this.dotsFor.input === input ? this.dotsFor : null;
    let centred = cached?.centred?.shares === shares ? cached.centred.values : null;
    if (!centred) {
      centred = new Array<bigint>(d);
      for (let i = 0; i < d; i++) centred[i] = field.sub(input[i]!, offsetShare);
      if (cached) cached.centred = { shares, values: centred };
    }
    const normChunk = this.normChunkLength;
    const xs = new Array<bigint>(normChunk);
    let squares = 0n;
    for (let call = 0; call < squareCalls; call++) {
      for (let c = 0; c < normChunk; c++) {
        const i = call * normChunk + c;
        xs[c] = i < d ? centred[i]! : 0n;
      }
      squares = field.add(squares, squareGadget.eval(field, xs));
    }
    let slack = 0n;
    for (let j = 0; j < this.normBits; j++) slack = field.add(slack, field.mul(1n << BigInt(j), input[slackAt + j]!));
    const normCheck = field.sub(field.add(squares, slack), field.mul(this.normBound, sharesInv));

    // the wraparound checks: Y_k = ⟨Z_k, y⟩ − (B/shares)·Σ Z_k; Y_k + 2^(b1−1)/shares − V_k − S_k
    const { dots, zSums } = cached ?? wraparoundDots(field, this.wraparoundSeed, r, input, d);
    const shift = field.mul(1n << BigInt(b1 - 1), sharesInv);
    let wrapCheck = 0n;
    let wPower = rw;
    let passed = 0n;
    for (let k = 0; k < r; k++) {
      const zSum = BigInt(zSums[k]!);
      const y = field.sub(dots[k]!, field.mul(offsetShare, zSum < 0n ? field.modulus + zSum : zSum));
      let v = 0n;
      const at = checksAt + k * (b1 + 1);
      for (let j = 0; j < b1; j++) v = field.add(v, field.mul(1n << BigInt(j), input[at + j]!));
      const term = field.sub(field.sub(field.add(y, shift), v), input[sAt + k]!);
      wrapCheck = field.add(wrapCheck, field.mul(wPower, term));
      wPower = field.mul(wPower, rw);
      passed = field.add(passed, input[at + b1]!);
    }
    const countCheck = field.sub(passed, field.mul(BigInt(this.passes), sharesInv));

    return field.add(field.add(mulCheck, field.mul(rn, normCheck)), field.add(wrapCheck, field.mul(rc, countCheck)));
  }

  /** Not used: Prio3Pine encodes in two stages (encodePrefix, then encodeChecks once the seed is known). */
  encode(): bigint[] {
    throw new Error('PINE encodes in two stages: encodePrefix, then encodeChecks');
  }

  /** y → field elements (no range check here: buildReport checks x ∈ [−B, B)). */
  encodePrefix(measurement: number[]): bigint[] {
    if (measurement.length !== this.length) throw new RangeError(`the vector has ${measurement.length} entries, expected ${this.length}`);
    const q = this.field.modulus;
    return measurement.map((y, i) => {
      if (!Number.isSafeInteger(y)) throw new RangeError(`entry ${i} is ${y}, not an integer`);
      return y < 0 ? q + BigInt(y) : BigInt(y);
    });
  }

  /** ‖y − B‖² of the centred values (what the honest encoder bounds). */
  squaredNorm(prefix: readonly bigint[]): bigint {
    const q = this.field.modulus;
    let squared = 0n;
    for (const y of prefix) {
      const x = (y > q / 2n ? y - q : y) - this.offset;
      squared += x * x;
    }
    return squared;
  }

  /** The nb bits of a slack s (only its low nb bits: a forger's negative or oversized claim is cut the same way). */
  slackBits(slack: bigint): bigint[] {
    return Array.from({ length: this.normBits }, (_, j) => (slack >> BigInt(j)) & 1n);
  }

  /**
   * The check results for y under the seed: per check the b1 bits of V_k and g_k, then the S_k; exactly r_pass
   * passes claimed at most. `passed` counts the checks that truly passed; with fewer than r_pass the honest
   * encoder throws (encodeChecks), and this still returns the true passes (a forger's starting point); `y` are the
   * Y_k as centred integers.
   */
  wraparoundEncoding(
    prefix: readonly bigint[],
    seed: Uint8Array,
    precomputed?: { dots: bigint[]; zSums: number[] },
  ): { encoding: bigint[]; passed: number; y: bigint[] } {
    const q = this.field.modulus;
    const centred = (v: bigint) => (v > q / 2n ? v - q : v);
    const { dots, zSums } = precomputed ?? wraparoundDots(this.field, seed, this.repetitions, prefix, this.length);
    const half = 1n << BigInt(this.checkBits - 1);
    const bits: bigint[] = [];
    const s: bigint[] = [];
    const ys: bigint[] = [];
    let claimed = 0;
    let passed = 0;
    for (let k = 0; k < this.repetitions; k++) {
      const y = centred((((dots[k]! - this.offset * BigInt(zSums[k]!)) % q) + q) % q);
      ys.push(y);
      const inWindow = y >= -half && y < half;
      if (inWindow) passed++;
      const pass = inWindow && claimed < this.passes;
      if (pass) claimed++;
      const v = pass ? y + half : 0n;
      for (let j = 0; j < this.checkBits; j++) bits.push((v >> BigInt(j)) & 1n);
      bits.push(pass ? 1n : 0n);
      s.push(pass ? 0n : (((y + half) % q) + q) % q);
    }
    return { encoding: [...bits, ...s], passed, y: ys };
  }

  /**
   * The honest device's slack bits and check results for y, given the seed. RangeError when ‖x‖² > N, and when
   * fewer than r_pass checks pass (probability in pineErrors; a caller may retry with a fresh report).
   */
  encodeChecks(prefix: readonly bigint[], seed: Uint8Array, precomputed?: { dots: bigint[]; zSums: number[] }): bigint[] {
    const squared = this.squaredNorm(prefix);
    if (squared > this.normBound) throw new RangeError(`‖x‖² = ${squared} exceeds the bound ${this.normBound}`);
    const { encoding, passed } = this.wraparoundEncoding(prefix, seed, precomputed);
    if (passed < this.passes) throw new RangeError(`only ${passed} of ${this.repetitions} wraparound checks passed (${this.passes} needed)`);
    return [...this.slackBits(this.normBound - squared), ...encoding];
  }

  truncate(input: bigint[]): bigint[] {
    return input.slice(0, this.length);
  }

  decode(output: bigint[]): number[] {
    return output.map(Number);
  }
}
