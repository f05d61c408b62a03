/** The fully linear proof of PINE's circuit: the package's FlpGeneric with its wire interpolation done by an inverse NTT. */
import { type Field } from '@divviup/field';
import { FlpGeneric } from '@divviup/prio3/dist/genericFlp.js';
import { Proof } from '@divviup/prio3/dist/circuits/proof.js';
import { Query } from '@divviup/prio3/dist/circuits/query.js';

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

/**
 * FlpGeneric with prove and query as the package's (the same Proof / Query wrappers, the same outputs), their wire
 * interpolations done by inverseNtt.
 */
export class PineFlp extends FlpGeneric<number[], number[]> {
  override prove(input: bigint[], proveRand: bigint[], jointRand: bigint[]): bigint[] {
    const circuit = new Proof(this.circuit, proveRand);
    circuit.eval(input, jointRand, 1);
    const field = this.field;
    return (circuit.gadgets as unknown as { wire: bigint[][]; evalPoly(f: Field, polys: bigint[][]): bigint[] }[]).flatMap((gadget) => {
      const p = gadget.wire[0]!.length;
      const interpolate = inverseNtt(field, field.exp(field.generator, field.genOrder / BigInt(p)), p);
      const wirePolys = gadget.wire.map((w) => interpolate(w));
      return gadget.wire.map((w) => w[0]!).concat(gadget.evalPoly(field, wirePolys));
    });
  }

  override query(input: bigint[], proof: bigint[], queryRand: bigint[], jointRand: bigint[], shares: number): bigint[] {
    const circuit = new Query(this.circuit, proof);
    const v = circuit.eval(input, jointRand, shares);
    const field = this.field;
    if (queryRand.length !== this.circuit.queryRandLen)
      throw new Error(`mismatched query rand length. expected ${this.circuit.queryRandLen} but got ${queryRand.length}`);
    const verifier = [v];
    (circuit.gadgets as unknown as { wire: bigint[][]; alpha: bigint; gadgetPoly: bigint[] }[]).forEach((gadget, index) => {
      const t = queryRand[index]!;
      const p = gadget.wire[0]!.length;
      if (field.exp(t, BigInt(p)) === 1n) throw new Error('Degenerate point would leak gadget output to the verifier');
      const interpolate = inverseNtt(field, gadget.alpha, p);
      for (const wire of gadget.wire) verifier.push(field.evalPoly(interpolate(wire), t));
      verifier.push(field.evalPoly(gadget.gadgetPoly, t));
    });
    return verifier;
  }
}
