import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Field128 } from '@divviup/field';
import { XofTurboShake128 } from '@divviup/xof';
import { FIELD128_BYTES, FIELD64_BYTES, FieldSum } from './field-bytes';
import { decode128, deriveSeed128, encode128, expand128, expandBytes128, sub128, subEncoded128, Sum128 } from './field128';

const field = new Field128();
const element = fc.bigInt({ min: 0n, max: field.modulus - 1n });

describe('field128: the package’s Field128 byte conversions and XOF expansion, faster', () => {
  it('encode128 / decode128 are field.encode / field.decode, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 40 }), (v) => {
        const bytes = encode128(v);
        expect(bytes).toEqual(new Uint8Array(field.encode(v)));
        expect(decode128(bytes)).toEqual(v);
        expect(encode128(v, 1, Math.max(1, v.length))).toEqual(new Uint8Array(field.encode(v.slice(1))));
      }),
    );
    expect(() => decode128(encode128([0n]).subarray(0, 15))).toThrow(RangeError);
    const over = new Uint8Array(16).fill(0xff); // 2^128 − 1 ≥ q
    expect(() => decode128(over)).toThrow(RangeError);
    expect(() => field.decode(over)).toThrow();
  });

  it('expand128 is XofTurboShake128.expandIntoVec(Field128, …)', async () => {
    for (const length of [0, 1, 7, 1_000]) {
      const seed = crypto.getRandomValues(new Uint8Array(16));
      const dst = Uint8Array.of(8, 0, 0, 0, 1, 2, 3);
      const binder = Uint8Array.of(1, 1);
      expect(expand128(seed, dst, binder, length)).toEqual(await XofTurboShake128.expandIntoVec(field, seed, dst, binder, length));
    }
  });

  it('deriveSeed128 is XofTurboShake128.deriveSeed', async () => {
    for (const length of [0, 1, 167, 168, 169, 5_000]) {
      const seed = crypto.getRandomValues(new Uint8Array(16));
      const dst = Uint8Array.of(8, 0, 0, 0, 1, 2, 7);
      const binder = crypto.getRandomValues(new Uint8Array(length));
      const expected = new Uint8Array(await XofTurboShake128.deriveSeed(seed, dst, binder));
      expect(deriveSeed128(seed, dst, binder)).toEqual(expected);
      expect(deriveSeed128(seed, dst, [binder.subarray(0, 100), binder.subarray(100)])).toEqual(expected);
    }
  });

  it('sub128 is field.vecSub', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(element, element), { maxLength: 30 }), (pairs) => {
        const a = pairs.map(([x]) => x);
        const b = pairs.map(([, y]) => y);
        expect(sub128(a, b)).toEqual(field.vecSub(a, b));
      }),
    );
  });
});

describe('field128: encoded helpers', () => {
  it('expandBytes128 is the encoding of expand128; subEncoded128 is (a − b) mod q encoded, for small and large a', () => {
    const seed = crypto.getRandomValues(new Uint8Array(16));
    const dst = Uint8Array.of(8, 0, 0, 0, 1, 2, 3);
    const bytes = expandBytes128(seed, dst, Uint8Array.of(1), 500);
    expect(decode128(bytes)).toEqual(expand128(seed, dst, Uint8Array.of(1), 500));
    const q = field.modulus;
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), element), fc.oneof(element, fc.bigInt({ min: 0n, max: 5_000n }), fc.constant(q - 1n))),
          {
            maxLength: 30,
          },
        ),
        (pairs) => {
          const a = pairs.map(([x]) => x);
          const b = pairs.map(([, y]) => y);
          expect(subEncoded128(a, encode128(b), a.length)).toEqual(encode128(field.vecSub(a, b)));
        },
      ),
    );
  });

  // Sum128 is the FieldSum of Field128; Field64's (8-byte elements, two words) is the same class
  describe.each([
    ['Field128 (Sum128)', FIELD128_BYTES, (length: number): FieldSum => new Sum128(length)],
    ['Field64', FIELD64_BYTES, (length: number): FieldSum => new FieldSum(FIELD64_BYTES, length)],
  ] as const)('the limb sum of encoded vectors, %s', (_, bytes, sumOf) => {
    it('is the BigInt sum mod q of the vectors, for elements at the limbs’ and the field’s edges, unaligned too; refuses what decode refuses', () => {
      const q = bytes.modulus;
      const size = bytes.size;
      const edge = fc.oneof(
        fc.constantFrom(
          ...[0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) - 1n, 1n << 64n, q - 1n, q - 2n, q - (1n << 32n), q - (1n << 64n)].filter(
            (v) => v >= 0n && v < q,
          ),
        ),
        fc.bigInt({ min: 0n, max: q - 1n }),
      );
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 12 }),
          fc.array(fc.array(edge, { minLength: 12, maxLength: 12 }), { maxLength: 8 }),
          fc.nat(3),
          (length, vectors, offset) => {
            const sum = sumOf(length);
            const expected = new Array<bigint>(length).fill(0n);
            for (const v of vectors) {
              const at = new Uint8Array(offset + size * length).subarray(offset); // unaligned too
              at.set(bytes.encode(v, 0, length));
              sum.add(at);
              for (let i = 0; i < length; i++) expected[i] = (expected[i]! + v[i]!) % q;
            }
            expect(bytes.decode(sum.finish())).toEqual(expected);
          },
        ),
      );
      // 1,000 vectors all q − 1: every limb's sum near 2^42
      const sum = sumOf(3);
      const top = bytes.encode([q - 1n, q - 1n, q - 1n]);
      for (let n = 0; n < 1_000; n++) sum.add(top);
      expect(bytes.decode(sum.finish())).toEqual(new Array<bigint>(3).fill((1_000n * (q - 1n)) % q));
      const notInField = bytes.encode([q - 1n]);
      notInField[0] = 2; // q + 1
      expect(() => sumOf(1).add(notInField)).toThrow(RangeError);
      const allOnes = new Uint8Array(size).fill(0xff); // 2^(8·size) − 1
      expect(() => sumOf(1).add(allOnes)).toThrow(RangeError);
      expect(() => sumOf(2).add(top)).toThrow(RangeError);
    });
  });
});
