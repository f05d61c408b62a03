import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Field64 } from '@divviup/field';
import { XofTurboShake128 } from '@divviup/xof';
import { FIELD64_BYTES } from './field-bytes';

// The Field64 PINE's byte conversions (field-bytes.ts with 8-byte elements) against the package and a BigInt reference;
// its limb sum (FieldSum) is tested with Field128's in field128.test.ts.
const field = new Field64();
const q = field.modulus; // 2^64 − 2^32 + 1
const bytes = FIELD64_BYTES;
const element = fc.bigInt({ min: 0n, max: q - 1n });
/** Elements at the limbs' and the field's edges, and uniform ones. */
const edge = fc.oneof(fc.constantFrom(0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) - 1n, 1n << 63n, q - 1n, q - 2n, q - (1n << 32n)), element);

/** 8 little-endian bytes of any 64-bit integer (also ones ≥ q). */
const raw = (v: bigint) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
};

describe('field64: the package’s Field64 byte conversions and XOF expansion, faster', () => {
  it('has q = 2^64 − 2^32 + 1, 8 bytes and two 32-bit words an element', () => {
    expect(q).toBe((1n << 64n) - (1n << 32n) + 1n);
    expect(bytes.size).toBe(8);
    expect(bytes.words).toBe(2);
    expect(bytes.modulusWords).toEqual([1, 0xffffffff]);
  });

  it('encode / decode are field.encode / field.decode, byte for byte; decode refuses q, 2^64 − 1 and lengths not a multiple of 8', () => {
    fc.assert(
      fc.property(fc.array(edge, { maxLength: 40 }), (v) => {
        const encoded = bytes.encode(v);
        expect(encoded).toEqual(new Uint8Array(field.encode(v)));
        expect(bytes.decode(encoded)).toEqual(v);
        expect(bytes.encode(v, 1, Math.max(1, v.length))).toEqual(new Uint8Array(field.encode(v.slice(1))));
      }),
    );
    for (const over of [q, q + 1n, (1n << 64n) - 1n, (1n << 64n) - (1n << 32n) + 2n]) {
      expect(() => bytes.decode(raw(over))).toThrow(RangeError);
      expect(() => field.decode(raw(over))).toThrow();
    }
    expect(bytes.decode(raw(q - 1n))).toEqual([q - 1n]);
    expect(() => bytes.decode(new Uint8Array(7))).toThrow(RangeError);
  });

  it('outOfField is v ≥ q on the words, at the edges', () => {
    for (const v of [0n, 1n, q - 1n, q - 2n, q - (1n << 32n), (1n << 64n) - (1n << 32n), q, q + 1n, (1n << 64n) - 1n, (1n << 64n) - 2n, 0xffffffff00000000n]) {
      const words = new Uint32Array(raw(v).buffer);
      expect(bytes.outOfField(words, 0)).toBe(v >= q);
    }
  });

  it('expand is XofTurboShake128.expandIntoVec(Field64, …); expandBytes its encoding', async () => {
    for (const length of [0, 1, 7, 1_000]) {
      const seed = crypto.getRandomValues(new Uint8Array(16));
      const dst = Uint8Array.of(8, 0, 0, 0, 1, 2, 3);
      const binder = Uint8Array.of(2, 1);
      const expected = await XofTurboShake128.expandIntoVec(field, seed, dst, binder, length);
      expect(bytes.expand(seed, dst, binder, length)).toEqual(expected);
      expect(bytes.expandBytes(seed, dst, binder, length)).toEqual(new Uint8Array(field.encode(expected)));
    }
  });

  it('sub is field.vecSub; subEncoded is (a − b) mod q encoded, for small and large a', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), edge), fc.oneof(edge, fc.bigInt({ min: 0n, max: 5_000n }))), { maxLength: 30 }),
        (pairs) => {
          const a = pairs.map(([x]) => x);
          const b = pairs.map(([, y]) => y);
          expect(bytes.sub(a, b)).toEqual(field.vecSub(a, b));
          expect(bytes.subEncoded(a, bytes.encode(b), a.length)).toEqual(bytes.encode(field.vecSub(a, b)));
        },
      ),
    );
  });
});
