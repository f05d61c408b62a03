import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FlpGeneric } from '@divviup/prio3/dist/genericFlp.js';
import { Field64 } from '@divviup/field';
import { PineCircuit } from './pine-circuit';
import { PineFlp } from './pine-flp';
import { field64PrefixInField, field64PrefixSums, pineQuery, prefixSumsOf, FIELD64_PREFIX_MAX_CALLS } from './pine-query';
import { FIELD64_BYTES } from './field-bytes';
import { wraparoundDots } from './pine-wraparound';
import type { PineField } from './pine-params';

const Q64 = new Field64().modulus;
const EDGES64 = [
  0n,
  1n,
  2n,
  Q64 - 1n,
  Q64 - 2n,
  2n ** 63n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 32n + 1n,
  Q64 - 2n ** 32n,
  2n ** 22n - 1n,
  2n ** 44n,
  2n ** 44n - 1n,
];

/** A small PINE circuit: the squares gadget's last call is short when `length` is not a multiple of its chunk. */
function circuit(field: PineField, length: number, normChunkLength: number): PineCircuit {
  const c = new PineCircuit({ length, offset: 32n, normBound: 2_000n, repetitions: 6, allowedFailures: 1, alpha: 2, chunkLength: 5, normChunkLength, field });
  c.wraparoundSeed = crypto.getRandomValues(new Uint8Array(16));
  return c;
}

/** pineQuery with the query input read from an element vector (the reference prefix sums, or Field64's kernel over its encoding). */
function queryOf(c: PineCircuit, input: bigint[], proof: bigint[], queryRand: bigint[], jointRand: bigint[], shares: number, kernel: boolean): bigint[] {
  const d = c.length;
  const encoded = FIELD64_BYTES.encode(input);
  const source = kernel ? encoded : input;
  return pineQuery(
    c,
    {
      tail: input.slice(d),
      prefixSums: kernel
        ? field64PrefixSums(new Uint32Array(encoded.buffer), d, c.normChunkLength)
        : prefixSumsOf(c.field, input.slice(0, d), c.normChunkLength),
      ...wraparoundDots(c.field, c.wraparoundSeed!, c.repetitions, source, d),
    },
    proof,
    queryRand,
    jointRand,
    shares,
  );
}

describe.each(['field128', 'field64'] as const)('pineQuery (%s): PineFlp.query’s verifier without the package’s Query wrapper', (fieldName) => {
  const kernels = fieldName === 'field64' ? [false, true] : [false];
  for (const [length, normChunk] of [
    [40, 3],
    [41, 4],
    [37, 37],
  ] as const)
    it(`equals PineFlp.query and FlpGeneric.query on honest and arbitrary shares (d = ${length}, chunk ${normChunk})`, () => {
      const c = circuit(fieldName, length, normChunk);
      const field = c.field;
      const random = (n: number) => Array.from({ length: n }, () => field.randomElement());
      const small = (n: number) => Array.from({ length: n }, (_, i) => BigInt((i * 37) % 64));
      for (const input of [small(c.measurementLen), random(c.measurementLen)]) {
        const jointRand = random(c.jointRandLen);
        const proof = new PineFlp(c).prove(input, random(c.proveRandLen), jointRand);
        const queryRand = random(c.queryRandLen);
        const shareOf = random(c.measurementLen);
        const proofShare = random(proof.length);
        for (const [x, pr, shares] of [
          [input, proof, 1],
          [shareOf, proofShare, 2],
        ] as const) {
          const expected = new PineFlp(c).query(x, pr, queryRand, jointRand, shares);
          expect(new FlpGeneric(c).query(x, pr, queryRand, jointRand, shares)).toEqual(expected);
          for (const kernel of kernels) expect(queryOf(c, x, pr, queryRand, jointRand, shares, kernel)).toEqual(expected);
        }
      }
    });

  it('refuses a degenerate query point and a proof of the wrong length, as the package does', () => {
    const c = circuit(fieldName, 40, 3);
    const field = c.field;
    const random = (n: number) => Array.from({ length: n }, () => field.randomElement());
    const input = random(c.measurementLen);
    const proof = random(c.proofLen);
    expect(() => queryOf(c, input, proof, [1n, 2n], random(4), 2, false)).toThrow(/Degenerate point/);
    expect(() => queryOf(c, input, proof.slice(1), random(2), random(4), 2, false)).toThrow(/proof length/);
  });
});

describe('field64PrefixSums: Σ_c y_(c·n+j)·w_c mod q from the encoding, exact', () => {
  const field = new Field64();
  const reference = (y: bigint[], chunk: number, w: bigint[]) => prefixSumsOf(field, y, chunk)(w);
  const run = (y: bigint[], chunk: number, w: bigint[]) => field64PrefixSums(new Uint32Array(FIELD64_BYTES.encode(y).buffer), y.length, chunk)(w);

  it('at the edges: every entry and weight q − 1 over the most calls, and the limbs’ edge values', () => {
    const chunk = 5;
    const calls = FIELD64_PREFIX_MAX_CALLS;
    const y = new Array<bigint>(chunk * calls - 2).fill(Q64 - 1n);
    const w = new Array<bigint>(calls).fill(Q64 - 1n);
    expect(run(y, chunk, w)).toEqual(reference(y, chunk, w));
    const ye = Array.from({ length: EDGES64.length * EDGES64.length }, (_, i) => EDGES64[i % EDGES64.length]!);
    const we = Array.from({ length: Math.ceil(ye.length / 7) }, (_, i) => EDGES64[(i * 5) % EDGES64.length]!);
    expect(run(ye, 7, we)).toEqual(reference(ye, 7, we));
    expect(() => run(y, chunk, [...w, 1n])).toThrow(/at most/);
  });

  it('property: random elements, chunks and a short last call', () => {
    const element = fc.oneof(fc.constantFrom(...EDGES64), fc.bigInt({ min: 0n, max: Q64 - 1n }));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 8 }),
        element,
        (chunk, calls, short, seedValue) => {
          const d = Math.max(1, chunk * calls - Math.min(short, chunk - 1));
          const y = Array.from({ length: d }, (_, i) => (i % 3 === 0 ? seedValue : field.randomElement()));
          const w = Array.from({ length: Math.ceil(d / chunk) }, (_, i) => (i % 4 === 1 ? seedValue : field.randomElement()));
          expect(run(y, chunk, w)).toEqual(reference(y, chunk, w));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('field64PrefixInField and allInField: q and above refused, q − 1 and 2^64 − 2^32 kept', () => {
    for (const [v, ok] of [
      [Q64 - 1n, true],
      [2n ** 64n - 2n ** 32n, true],
      [2n ** 32n - 1n, true],
    ] as const) {
      const words = new Uint32Array([Number(v & 0xffffffffn), Number(v >> 32n), 5, 0]);
      expect(field64PrefixInField(words, 2)).toBe(ok);
      expect(FIELD64_BYTES.allInField(new Uint8Array(words.buffer))).toBe(ok);
    }
    for (const v of [Q64, Q64 + 1n, 2n ** 64n - 1n]) {
      const words = new Uint32Array([7, 0, Number(v & 0xffffffffn), Number(v >> 32n)]);
      expect(field64PrefixInField(words, 2)).toBe(false);
      expect(field64PrefixInField(words, 1)).toBe(true);
      expect(FIELD64_BYTES.allInField(new Uint8Array(words.buffer))).toBe(false);
    }
  });
});
