/**
 * An aggregator's FLP query of PINE's circuit (its share of the verifier, what `PineFlp.query` returns on the same
 * share, proof share and randomness) without a field element per entry of y (stop 39). The package's `Query` wrapper
 * records every gadget input in BigInt wires and `PineFlp.query` then takes each wire's Lagrange sum: for the squares
 * gadget that is every centred x_i = y_i − B/shares, d BigInt subtractions and d BigInt products a proof, plus the d
 * BigInts of the decoded share, their garbage collection a third or more of `prepareInit` (profiled, stops 37–38).
 *
 * What the query needs of y is linear in it: the squares gadget's wire j has the value x_(c·n+j) at point c + 1
 * (n = its chunk, c < its calls; 0 past d) and its proof seed at point 0, and the gadget's outputs in query mode are
 * the proof's gadget polynomial at α^(c+1), which do not depend on the input at all. So the verifier's entry for
 * wire j is seed_j·λ_0 + Σ_c y_(c·n+j)·λ_(c+1) − (B/shares)·Σ_c λ_(c+1) over the calls that reach j: one weighted
 * sum over the share's encoding per proof (`prefixSums`), read straight from its bytes. The rest of the circuit
 * (the bit checks, the slack, the wraparound checks' affine terms: a few thousand elements) is evaluated here in
 * BigInt as pine-circuit.ts's `eval` does, term for term; the sum of a gadget's outputs over its calls is
 * Σ_m poly_m·Σ_c α^(m·(c+1)) (the inner sums depend on the circuit only: computed once per circuit).
 *
 * Tested against `PineFlp.query` and the package's `FlpGeneric.query` (pine-query.test.ts) on both fields: honest
 * shares, arbitrary field elements, short last calls.
 */
import { type Field } from '@divviup/field';
import type { Gadget } from '@divviup/prio3/dist/gadget.js';
import type { PineCircuit } from './pine-circuit';
import { lagrangeWeights } from './pine-flp';

const nextPowerOf2 = (n: number): number => 2 ** Math.ceil(Math.log2(n));

/** What the query reads of an aggregator's measurement share. */
export interface PineQueryInput {
  /** The share's elements d … measurementLen − 1 (slack bits, the checks' bits and g_k, the S_k). */
  tail: readonly bigint[];
  /**
   * For j < n (the squares gadget's chunk): Σ_c y_(c·n+j)·weights[c] mod q over the calls c with c·n + j < d, y the
   * share's first d elements.
   */
  prefixSums(weights: readonly bigint[]): bigint[];
  /** ⟨Z_k, y⟩ mod q and Σ_i Z_k,i of the share (pine-wraparound.ts wraparoundDots). */
  dots: readonly bigint[];
  zSums: readonly number[];
}

/** prefixSums over elements (the reference; any field). */
export function prefixSumsOf(field: Field, prefix: readonly bigint[], chunk: number): (weights: readonly bigint[]) => bigint[] {
  const d = prefix.length;
  return (weights) =>
    Array.from({ length: chunk }, (_, j) => {
      let s = 0n;
      for (let c = 0; c < weights.length && c * chunk + j < d; c++) s += prefix[c * chunk + j]! * weights[c]!;
      return s % field.modulus;
    });
}

const FIELD64_MODULUS = 2n ** 64n - 2n ** 32n + 1n;
const MASK22 = (1n << 22n) - 1n;
/** Calls summed before the float64 limb sums could pass 2^53 (3 products < 2^44 each per call and limb position). */
export const FIELD64_PREFIX_MAX_CALLS = 128;

/**
 * prefixSums for Field64 from the share's encoding (two 32-bit words an element, little-endian; the caller has
 * checked every element < q), without BigInt per entry: y and each weight as three limbs of ≤ 22 bits, the nine
 * limb products (< 2^44) summed in float64 by their position 22·(a + b) (five sums, each < 3·2^44 a call, exact
 * for ≤ 128 calls), recombined and reduced once per j.
 */
export function field64PrefixSums(words: Uint32Array, d: number, chunk: number): (weights: readonly bigint[]) => bigint[] {
  if (words.length < 2 * d) throw new RangeError('the encoding is shorter than the vector');
  return (weights) => {
    if (weights.length > FIELD64_PREFIX_MAX_CALLS) throw new RangeError(`at most ${FIELD64_PREFIX_MAX_CALLS} calls (got ${weights.length})`);
    const acc = new Float64Array(5 * chunk);
    for (let c = 0; c < weights.length; c++) {
      const w = weights[c]!;
      const l0 = Number(w & MASK22);
      const l1 = Number((w >> 22n) & MASK22);
      const l2 = Number(w >> 44n);
      const base = c * chunk;
      const end = Math.min(chunk, d - base);
      for (let j = 0, at = 2 * base; j < end; j++, at += 2) {
        const lo = words[at]!;
        const hi = words[at + 1]!;
        const y0 = lo & 0x3fffff;
        const y1 = (lo >>> 22) | ((hi & 0xfff) << 10);
        const y2 = hi >>> 12;
        const a = 5 * j;
        acc[a]! += y0 * l0;
        acc[a + 1]! += y0 * l1 + y1 * l0;
        acc[a + 2]! += y0 * l2 + y1 * l1 + y2 * l0;
        acc[a + 3]! += y1 * l2 + y2 * l1;
        acc[a + 4]! += y2 * l2;
      }
    }
    const out = new Array<bigint>(chunk);
    for (let j = 0; j < chunk; j++) {
      const a = 5 * j;
      const v = BigInt(acc[a]!) + (BigInt(acc[a + 1]!) << 22n) + (BigInt(acc[a + 2]!) << 44n) + (BigInt(acc[a + 3]!) << 66n) + (BigInt(acc[a + 4]!) << 88n);
      out[j] = v % FIELD64_MODULUS;
    }
    return out;
  };
}

/** Is every one of the first d elements (two 32-bit words each, little-endian) < q = 0xffffffff_00000001? */
export function field64PrefixInField(words: Uint32Array, d: number): boolean {
  for (let i = 0; i < d; i++) if (words[2 * i + 1] === 0xffffffff && words[2 * i] !== 0) return false;
  return true;
}

/** Per circuit: G_m = Σ_(c < calls) α^(m·(c+1)) for each gadget, so that Σ_c poly(α^(c+1)) = Σ_m poly_m·G_m. */
const callSums = new WeakMap<PineCircuit, bigint[][]>();

function gadgetCallSums(circuit: PineCircuit): bigint[][] {
  let sums = callSums.get(circuit);
  if (sums) return sums;
  const field = circuit.field;
  const q = field.modulus;
  sums = circuit.gadgets.map((gadget, i) => {
    const calls = circuit.gadgetCalls[i]!;
    const p = nextPowerOf2(calls + 1);
    const alpha = field.exp(field.generator, field.genOrder / BigInt(p));
    const length = gadget.degree * (p - 1) + 1;
    return Array.from({ length }, (_, m) => {
      const step = field.exp(alpha, BigInt(m));
      let power = step;
      let s = 0n;
      for (let c = 0; c < calls; c++) {
        s += power;
        power = (power * step) % q;
      }
      return s % q;
    });
  });
  callSums.set(circuit, sums);
  return sums;
}

/**
 * One proof's verifier share: [circuit output, gadget 0's wires at t_0 and its polynomial at t_0, gadget 1's wires
 * at t_1 and its polynomial at t_1], exactly `PineFlp.query(share, proof, queryRand, jointRand, shares)`.
 */
export function pineQuery(
  circuit: PineCircuit,
  input: PineQueryInput,
  proof: readonly bigint[],
  queryRand: readonly bigint[],
  jointRand: readonly bigint[],
  shares: number,
): bigint[] {
  const field = circuit.field;
  const q = field.modulus;
  const d = circuit.length;
  if (proof.length !== circuit.proofLen) throw new Error(`expected proof length to be ${circuit.proofLen} but it was ${proof.length}`);
  if (input.tail.length !== circuit.measurementLen - d) throw new Error(`expected measurement length to be ${circuit.measurementLen}`);
  if (jointRand.length !== circuit.jointRandLen) throw new Error(`expected joint rand length to be ${circuit.jointRandLen} but it was ${jointRand.length}`);
  if (queryRand.length !== circuit.queryRandLen) throw new Error(`mismatched query rand length. expected ${circuit.queryRandLen} but got ${queryRand.length}`);
  const [mulGadget, squareGadget] = circuit.gadgets as [Gadget, Gadget];
  const [mulCalls, squareCalls] = circuit.gadgetCalls as [number, number];
  const p0 = nextPowerOf2(mulCalls + 1);
  const p1 = nextPowerOf2(squareCalls + 1);
  let at = 0;
  const seeds0 = proof.slice(at, (at += mulGadget.arity));
  const poly0 = proof.slice(at, (at += mulGadget.degree * (p0 - 1) + 1));
  const seeds1 = proof.slice(at, (at += squareGadget.arity));
  const poly1 = proof.slice(at, (at += squareGadget.degree * (p1 - 1) + 1));
  const [sums0, sums1] = gadgetCallSums(circuit) as [bigint[], bigint[]];
  const dotMod = (a: readonly bigint[], b: readonly bigint[]) => {
    let s = 0n;
    for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
    return s % q;
  };

  const [t0, t1] = queryRand as [bigint, bigint];
  for (const [t, p] of [
    [t0, p0],
    [t1, p1],
  ] as const)
    if (field.exp(t, BigInt(p)) === 1n) throw new Error('Degenerate point would leak gadget output to the verifier');
  const weights0 = lagrangeWeights(field, field.exp(field.generator, field.genOrder / BigInt(p0)), p0, t0);
  const weights1 = lagrangeWeights(field, field.exp(field.generator, field.genOrder / BigInt(p1)), p1, t1);

  const [rho, rn, rw, rc] = jointRand as [bigint, bigint, bigint, bigint];
  const sharesInv = field.exp(BigInt(shares), -1n);
  const tail = input.tail;
  const r = circuit.repetitions;
  const b1 = circuit.checkBits;
  const nb = circuit.normBits;
  const checksAt = nb; // in the tail
  const sAt = checksAt + r * (b1 + 1);

  // gadget 0 (pine-circuit.ts eval): the pairs (ρ^(j+1)·w, w − 1/shares), then (ρ^(j+1)·g_k, S_k); wire m has
  // its seed at point 0 and the calls' inputs at points 1 … mulCalls
  const chunk = circuit.chunkLength;
  const pairs = nb + r * (b1 + 1) + r;
  const wires0 = seeds0.map((s) => s * weights0[0]!);
  let power = rho;
  for (let call = 0; call < mulCalls; call++) {
    const weight = weights0[call + 1]!;
    for (let c = 0; c < chunk; c++) {
      const j = call * chunk + c;
      let a = 0n;
      let b = 0n;
      if (j < pairs - r) {
        a = tail[j]!;
        b = field.sub(a, sharesInv);
      } else if (j < pairs) {
        const k = j - (pairs - r);
        a = tail[checksAt + k * (b1 + 1) + b1]!;
        b = tail[sAt + k]!;
      }
      wires0[2 * c] = wires0[2 * c]! + ((power * a) % q) * weight;
      wires0[2 * c + 1] = wires0[2 * c + 1]! + b * weight;
      power = (power * rho) % q;
    }
  }
  const mulCheck = dotMod(poly0, sums0);

  // gadget 1: wire j = seed_j at point 0, x_(c·n+j) = y − B/shares at point c + 1 while c·n + j < d
  const offsetShare = field.mul(circuit.offset, sharesInv);
  const n = circuit.normChunkLength;
  const ySums = input.prefixSums(weights1.slice(1, squareCalls + 1));
  let fullWeights = 0n; // Σ λ_(c+1) over the calls every j reaches (all but the last)
  for (let c = 0; c < squareCalls - 1; c++) fullWeights += weights1[c + 1]!;
  const lastWeight = weights1[squareCalls]!;
  const lastReach = d - (squareCalls - 1) * n; // j < lastReach reach the last call
  const wires1 = seeds1.map((seed, j) => {
    const reached = (j < lastReach ? fullWeights + lastWeight : fullWeights) % q;
    return (((seed * weights1[0]! + ySums[j]! - offsetShare * reached) % q) + q) % q;
  });
  const squares = dotMod(poly1, sums1);
  let slack = 0n;
  for (let j = 0; j < nb; j++) slack += tail[j]! << BigInt(j);
  const normCheck = field.sub(field.add(squares, slack % q), field.mul(circuit.normBound, sharesInv));

  // the wraparound checks and the count of passes (pine-circuit.ts eval)
  const shift = field.mul(1n << BigInt(b1 - 1), sharesInv);
  let wrapCheck = 0n;
  let wPower = rw;
  let passed = 0n;
  for (let k = 0; k < r; k++) {
    const zSum = BigInt(input.zSums[k]!);
    const y = field.sub(input.dots[k]!, field.mul(offsetShare, zSum < 0n ? q + zSum : zSum));
    let v = 0n;
    const base = checksAt + k * (b1 + 1);
    for (let j = 0; j < b1; j++) v += tail[base + j]! << BigInt(j);
    const term = field.sub(field.sub(field.add(y, shift), v % q), tail[sAt + k]!);
    wrapCheck = (wrapCheck + wPower * term) % q;
    wPower = (wPower * rw) % q;
    passed += tail[base + b1]!;
  }
  const countCheck = field.sub(passed % q, field.mul(BigInt(circuit.passes), sharesInv));
  const v = field.add(field.add(mulCheck, field.mul(rn, normCheck)), field.add(wrapCheck, field.mul(rc, countCheck)));

  return [v, ...wires0.map((s) => s % q), field.evalPoly(poly0, t0), ...wires1, field.evalPoly(poly1, t1)];
}
