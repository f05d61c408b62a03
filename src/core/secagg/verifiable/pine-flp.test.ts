import { describe, expect, it } from 'vitest';
import { FlpGeneric } from '@divviup/prio3/dist/genericFlp.js';
import { PineCircuit } from './pine-circuit';
import { PineFlp, gramMatrix, lagrangeWeights } from './pine-flp';
import type { PineField } from './pine-params';

/** A small PINE circuit whose squares gadget has 14 calls (wires of 16 points) and whose bit gadget has several. */
function circuit(field: PineField): PineCircuit {
  const c = new PineCircuit({
    length: 40,
    offset: 32n,
    normBound: 2_000n,
    repetitions: 6,
    allowedFailures: 1,
    alpha: 2,
    chunkLength: 5,
    normChunkLength: 3,
    field,
  });
  c.wraparoundSeed = crypto.getRandomValues(new Uint8Array(16));
  return c;
}

describe.each(['field128', 'field64'] as const)('PineFlp (%s): the package’s FlpGeneric prove and query, the same outputs faster', (fieldName) => {
  const c = circuit(fieldName);
  const field = c.field;
  const q = field.modulus;
  const random = (n: number) => Array.from({ length: n }, () => field.randomElement());
  const small = (n: number) => Array.from({ length: n }, (_, i) => BigInt((i * 37) % 64)); // y ∈ [0, 2B): x = y − B small

  it('prove and query equal the package’s on small entries (the device’s) and on arbitrary field elements (a forger’s)', () => {
    for (const input of [small(c.measurementLen), random(c.measurementLen)]) {
      const proveRand = random(c.proveRandLen);
      const jointRand = random(c.jointRandLen);
      const ours = new PineFlp(c);
      const theirs = new FlpGeneric(c);
      const proof = ours.prove(input, proveRand, jointRand);
      expect(proof).toEqual(theirs.prove(input, proveRand, jointRand));
      const queryRand = random(c.queryRandLen);
      // one aggregator's view: shares of the input and proof
      const inputShare = random(c.measurementLen);
      const proofShare = random(proof.length);
      expect(ours.query(input, proof, queryRand, jointRand, 1)).toEqual(theirs.query(input, proof, queryRand, jointRand, 1));
      expect(ours.query(inputShare, proofShare, queryRand, jointRand, 2)).toEqual(theirs.query(inputShare, proofShare, queryRand, jointRand, 2));
    }
  });

  it('gramMatrix is Σ_j w_j[k]·w_j[k′] mod q, on its float path (small centred entries, negative ones too) and its BigInt path', () => {
    const exact = (wires: bigint[][]) => wires[0]!.map((_, k) => wires[0]!.map((__, l) => wires.reduce((s, w) => s + w[k]! * w[l]!, 0n) % q));
    const centred = (x: number) => (x < 0 ? q + BigInt(x) : BigInt(x));
    const smallWires = Array.from({ length: 50 }, (_, j) => [
      field.randomElement(),
      ...Array.from({ length: 7 }, (__, k) => centred(((j * 13 + k * 7) % 65_537) - 32_768)),
    ]);
    expect(gramMatrix(field, smallWires)).toEqual(exact(smallWires));
    const bigWires = Array.from({ length: 20 }, () => random(8));
    expect(gramMatrix(field, bigWires)).toEqual(exact(bigWires));
  });

  it('lagrangeWeights give the interpolating polynomial’s value at t', () => {
    const p = 16;
    const alpha = field.exp(field.generator, field.genOrder / BigInt(p));
    const roots = Array.from({ length: p }, (_, k) => field.exp(alpha, BigInt(k)));
    const values = random(p);
    const t = field.randomElement();
    const weights = lagrangeWeights(field, alpha, p, t);
    expect(values.reduce((s, v, k) => (s + v * weights[k]!) % q, 0n)).toBe(field.evalPoly(field.interpolate(roots, values), t));
  });
});
