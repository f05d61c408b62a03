/**
 * The fully linear proof of PINE's circuit: the package's FlpGeneric, with the same outputs computed faster — its
 * wire interpolation by an inverse NTT, the squares' gadget polynomial from the wires' Gram matrix (prover), and
 * each wire's value at the query point by Lagrange weights (verifier).
 */
import { type Field } from '@divviup/field';
import { FlpGeneric } from '@divviup/prio3/dist/genericFlp.js';
import { Proof } from '@divviup/prio3/dist/circuits/proof.js';
import { Query } from '@divviup/prio3/dist/circuits/query.js';
import { SquareSum } from './pine-circuit';

/**
 * Interpolation at the p-th roots of unity α^k (α = the package's gadget root, p a power of 2): an inverse NTT
 * with its twiddles computed once per p. The package's `Field.interpolate` calls `exp` for its roots on every
 * wire (≈ 1.5 s of a 4.9 s shard at the app's length, profiled at stop 34); the polynomial is the same (it is
 * unique), and every test's verification checks it (the package's own code is not used for it on either side).
 */
export function inverseNtt(field: Field, alpha: bigint, p: number): (values: readonly bigint[]) => bigint[] {
  const q = field.modulus;
  const alphaInv = field.exp(alpha, -1n);
  const pInv = field.exp(BigInt(p), -1n);
  const twiddles: bigint[] = [1n];
  for (let i = 1; i < p; i++) twiddles.push((twiddles[i - 1]! * alphaInv) % q);
  const bits = Math.log2(p);
  const reversed = Array.from({ length: p }, (_, i) => {
    let r = 0;
    for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b);
    return r;
  });
  return (values) => {
    const a = new Array<bigint>(p);
    for (let i = 0; i < p; i++) a[reversed[i]!] = values[i]!;
    for (let m = 2; m <= p; m <<= 1) {
      const half = m >> 1;
      const step = p / m;
      for (let k = 0; k < p; k += m)
        for (let j = 0; j < half; j++) {
          const t = (twiddles[j * step]! * a[k + j + half]!) % q;
          const u = a[k + j]!;
          const sum = u + t;
          const diff = u - t;
          a[k + j] = sum >= q ? sum - q : sum;
          a[k + j + half] = diff < 0n ? diff + q : diff;
        }
    }
    for (let i = 0; i < p; i++) a[i] = (a[i]! * pInv) % q;
    return a;
  };
}

/** The package's gadget root for wires of p points. */
const rootOf = (field: Field, p: number): bigint => field.exp(field.generator, field.genOrder / BigInt(p));

/** |x| ≤ 2^15 for the float path of gramMatrix: 2^30 per product, sums of ≤ 2^21 products stay below 2^53. */
const SMALL = 1 << 15;
const LIMB_BITS = 16n;

/**
 * G[k][k'] = Σ_j wire_j[k]·wire_j[k'] mod q. Point 0 of every wire is its random seed (a full field element), the
 * others are the prover's inputs; when those are small (centred, |x| ≤ 2^15: the device's entries) the products
 * among them are summed exactly in float64 and the seeds' products with them by 16-bit limbs, without BigInt per
 * product; otherwise (a forger's vector) in BigInt.
 */
export function gramMatrix(field: Field, wires: readonly (readonly bigint[])[]): bigint[][] {
  const q = field.modulus;
  const half = q / 2n;
  const p = wires[0]!.length;
  const n = wires.length;
  const xs = Array.from({ length: p }, () => new Float64Array(n));
  let small = n <= 2 ** 21;
  for (let j = 0; j < n && small; j++)
    for (let k = 1; k < p; k++) {
      const v = wires[j]![k]!;
      const x = v > half ? v - q : v;
      if (x > SMALL || x < -SMALL) {
        small = false;
        break;
      }
      xs[k]![j] = Number(x);
    }
  const g = Array.from({ length: p }, () => new Array<bigint>(p).fill(0n));
  if (!small) {
    for (let k = 0; k < p; k++)
      for (let l = k; l < p; l++) {
        let s = 0n;
        for (let j = 0; j < n; j++) s += wires[j]![k]! * wires[j]![l]!;
        g[k]![l] = g[l]![k] = s % q;
      }
    return g;
  }
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[j]! * b[j]!;
    return s;
  };
  for (let k = 1; k < p; k++)
    for (let l = k; l < p; l++) {
      const s = BigInt(dot(xs[k]!, xs[l]!)) % q;
      g[k]![l] = g[l]![k] = s < 0n ? s + q : s;
    }
  let seedSquares = 0n;
  const limbCount = field.encodedSize / 2; // 16-bit limbs of a seed: 8 (Field128), 4 (Field64)
  const limbs = Array.from({ length: limbCount }, () => new Float64Array(n));
  for (let j = 0; j < n; j++) {
    const s = wires[j]![0]!;
    seedSquares += s * s;
    let e = s;
    for (let l = 0; l < limbCount; l++) {
      limbs[l]![j] = Number(e & 0xffffn);
      e >>= LIMB_BITS;
    }
  }
  g[0]![0] = seedSquares % q;
  for (let k = 1; k < p; k++) {
    let s = 0n;
    for (let l = limbCount - 1; l >= 0; l--) s = (s << LIMB_BITS) + BigInt(dot(limbs[l]!, xs[k]!));
    s %= q;
    g[0]![k] = g[k]![0] = s < 0n ? s + q : s;
  }
  return g;
}

/**
 * Σ_j w_j(X)² for the wire polynomials w_j interpolating the wires at the p-th roots of unity: what SquareSum's
 * evalPoly returns on the interpolated wires (2p − 1 coefficients), from the Gram matrix G of the wire values:
 * with A the inverse NTT, the coefficients' products Σ_j W_j[m]·W_j[m'] are H = A·G·Aᵀ, and the square's
 * coefficient n is Σ_(m+m'=n) H[m][m']. 2p inverse NTTs instead of one per wire and p² products per wire.
 */
export function squareSumPoly(field: Field, wires: readonly (readonly bigint[])[]): bigint[] {
  const q = field.modulus;
  const p = wires[0]!.length;
  const interpolate = inverseNtt(field, rootOf(field, p), p);
  const rows = gramMatrix(field, wires).map((row) => interpolate(row)); // rows[k][m'] = (G·Aᵀ)[k][m']
  const out = new Array<bigint>(2 * p - 1).fill(0n);
  for (let m2 = 0; m2 < p; m2++) {
    const column = interpolate(rows.map((row) => row[m2]!)); // column[m] = H[m][m2]
    for (let m = 0; m < p; m++) out[m + m2] = out[m + m2]! + column[m]!;
  }
  return out.map((v) => v % q);
}

/**
 * The Lagrange weights of the p-th roots of unity at t: a polynomial of degree < p through values v_k at α^k has
 * the value Σ_k v_k·λ_k at t, λ_k = (t^p − 1)·α^k / (p·(t − α^k)) (t^p ≠ 1: the caller refuses that point).
 */
export function lagrangeWeights(field: Field, alpha: bigint, p: number, t: bigint): bigint[] {
  const q = field.modulus;
  const scale = field.mul(field.sub(field.exp(t, BigInt(p)), 1n), field.exp(BigInt(p), -1n));
  const weights: bigint[] = [];
  let root = 1n;
  for (let k = 0; k < p; k++) {
    weights.push(field.mul(field.mul(scale, root), field.exp(field.sub(t, root), -1n)));
    root = (root * alpha) % q;
  }
  return weights;
}

type ProofGadget = { wire: bigint[][]; gadget: unknown; evalPoly(f: Field, polys: bigint[][]): bigint[] };
type QueryGadget = { wire: bigint[][]; alpha: bigint; gadgetPoly: bigint[] };

/** FlpGeneric with prove and query as the package's (the same Proof / Query wrappers, the same outputs), faster. */
export class PineFlp extends FlpGeneric<number[], number[]> {
  override prove(input: bigint[], proveRand: bigint[], jointRand: bigint[]): bigint[] {
    const circuit = new Proof(this.circuit, proveRand);
    circuit.eval(input, jointRand, 1);
    const field = this.field;
    return (circuit.gadgets as unknown as ProofGadget[]).flatMap((gadget) => {
      const seeds = gadget.wire.map((w) => w[0]!);
      if (gadget.gadget instanceof SquareSum) return seeds.concat(squareSumPoly(field, gadget.wire));
      const p = gadget.wire[0]!.length;
      const interpolate = inverseNtt(field, rootOf(field, p), p);
      return seeds.concat(
        gadget.evalPoly(
          field,
          gadget.wire.map((w) => interpolate(w)),
        ),
      );
    });
  }

  override query(input: bigint[], proof: bigint[], queryRand: bigint[], jointRand: bigint[], shares: number): bigint[] {
    const circuit = new Query(this.circuit, proof);
    const v = circuit.eval(input, jointRand, shares);
    const field = this.field;
    const q = field.modulus;
    if (queryRand.length !== this.circuit.queryRandLen)
      throw new Error(`mismatched query rand length. expected ${this.circuit.queryRandLen} but got ${queryRand.length}`);
    const verifier = [v];
    (circuit.gadgets as unknown as QueryGadget[]).forEach((gadget, index) => {
      const t = queryRand[index]!;
      const p = gadget.wire[0]!.length;
      if (field.exp(t, BigInt(p)) === 1n) throw new Error('Degenerate point would leak gadget output to the verifier');
      const weights = lagrangeWeights(field, gadget.alpha, p, t);
      for (const wire of gadget.wire) {
        let s = 0n;
        for (let k = 0; k < p; k++) s += wire[k]! * weights[k]!;
        verifier.push(s % q);
      }
      verifier.push(field.evalPoly(gadget.gadgetPoly, t));
    });
    return verifier;
  }
}
