import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIELD128_BYTES, FIELD64_BYTES } from './field-bytes';
import { wraparoundDots, wraparoundVector } from './pine-wraparound';
import { WRAPAROUND_WASM, wraparoundWasmSupported } from './wraparound-wasm';

describe('wraparound-wasm: the module', () => {
  it('is a valid module under 4 KB and runs here', () => {
    expect(WebAssembly.validate(WRAPAROUND_WASM)).toBe(true);
    expect(WRAPAROUND_WASM.length).toBeLessThan(4096);
    expect(wraparoundWasmSupported()).toBe(true);
  });
});

// Field128 (four 32-bit limbs an entry, kernel dots2) and Field64 (two, kernel dots2_64: two entries a v128)
describe.each([
  ['Field128', FIELD128_BYTES],
  ['Field64', FIELD64_BYTES],
] as const)('wraparound-wasm (%s): the aggregators’ wraparound dot products in WebAssembly, exactly the BigInt ones', (_, bytesOf) => {
  const field = bytesOf.field;
  const q = field.modulus;
  /** Elements at the edges of the limbs and of the field, and uniform ones. */
  const element = fc.oneof(
    fc.constantFrom(
      ...[0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) - 1n, (1n << 64n) - 1n, 1n << 96n, q - 1n, q - 2n, q - (1n << 32n), q >> 1n].filter((v) => v < q),
    ),
    fc.bigInt({ min: 0n, max: q - 1n }),
  );

  /** The reference: ⟨Z_k, v⟩ mod q in BigInt, from the trits themselves. */
  function exactDots(seed: Uint8Array, repetitions: number, v: readonly bigint[]): bigint[] {
    return Array.from({ length: repetitions }, (_, k) => {
      const z = wraparoundVector(seed, k, v.length);
      const s = v.reduce((sum, e, i) => sum + BigInt(z[i]!) * e, 0n);
      return ((s % q) + q) % q;
    });
  }

  it('equals the BigInt reference and the float64 loop for any share, length (tails of 0–3 entries) and number of checks', () => {
    fc.assert(
      fc.property(
        fc.array(element, { minLength: 1, maxLength: 90 }),
        fc.integer({ min: 1, max: 5 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.nat(3),
        (v, repetitions, seed, offset) => {
          const expected = exactDots(seed, repetitions, v);
          const wasm = wraparoundDots(field, seed, repetitions, v, v.length, 'wasm');
          expect(wasm.dots).toEqual(expected);
          expect(wraparoundDots(field, seed, repetitions, v, v.length, 'js')).toEqual(wasm);
          // from the encoding, at an unaligned offset too (an aggregator's upload)
          const bytes = new Uint8Array(offset + bytesOf.size * v.length).subarray(offset);
          bytes.set(bytesOf.encode(v));
          expect(wraparoundDots(field, seed, repetitions, bytes, v.length, 'wasm')).toEqual(wasm);
          expect(wraparoundDots(field, seed, repetitions, bytes, v.length, 'js')).toEqual(wasm);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('stays exact at the largest sums: thousands of entries all q − 1 (every limb near 2^32)', () => {
    const seed = crypto.getRandomValues(new Uint8Array(16));
    for (const length of [4_096, 4_099]) {
      const v = new Array<bigint>(length).fill(q - 1n);
      expect(wraparoundDots(field, seed, 3, v, length, 'wasm').dots).toEqual(exactDots(seed, 3, v));
      expect(wraparoundDots(field, seed, 3, bytesOf.encode(v), length, 'wasm').dots).toEqual(exactDots(seed, 3, v));
    }
  });
});
