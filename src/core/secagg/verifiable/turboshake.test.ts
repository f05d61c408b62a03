import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { turboshake128 as noble } from '@noble/hashes/sha3-addons.js';
import { keccakWasm } from './keccak-wasm';
import { TurboShake128, turboshake128 } from './turboshake';

describe('turboshake: TurboSHAKE128 on the WebAssembly permutation and on the unrolled one, byte for byte @noble/hashes', () => {
  it('runs on the WebAssembly permutation here (Node has WebAssembly)', () => {
    expect(keccakWasm()).not.toBeNull();
  });

  it('equals noble’s turboshake128 for lengths around the rate, domain bytes and output lengths', () => {
    for (const length of [0, 1, 3, 167, 168, 169, 335, 336, 337, 1_000, 10_000])
      for (const D of [0x01, 0x06, 0x1f, 0x21, 0x7f])
        for (const dkLen of [1, 16, 168, 169, 500]) {
          const data = crypto.getRandomValues(new Uint8Array(length));
          const expected = noble(data, { D, dkLen });
          expect(turboshake128(data, { D, dkLen })).toEqual(expected);
          expect(new TurboShake128(D, null).update(data).xof(dkLen)).toEqual(expected);
        }
  });

  it('streams: any split of the input (aligned or not) and of the output gives the same bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1_200 }),
        fc.array(fc.nat(1_200), { maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 4 }),
        fc.boolean(),
        (data, cuts, outs, wasm) => {
          const h = new TurboShake128(1, wasm ? keccakWasm() : null);
          let at = 0;
          for (const cut of [...cuts].sort((a, b) => a - b)) {
            const end = Math.min(cut, data.length);
            // an unaligned copy of the part (a view at an odd offset)
            const part = new Uint8Array(end - at + 1).subarray(1);
            part.set(data.subarray(at, end));
            h.update(part);
            at = Math.max(at, end);
          }
          h.update(data.subarray(at));
          const total = outs.reduce((s, n) => s + n, 0) + 7;
          const expected = noble(data, { D: 1, dkLen: total });
          const got = [...outs, 7].map((n) => h.xof(n));
          expect(Uint8Array.from(got.flatMap((g) => Array.from(g)))).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a domain byte outside 0x01–0x7f and updates after squeezing', () => {
    expect(() => new TurboShake128(0)).toThrow(RangeError);
    expect(() => new TurboShake128(0x80)).toThrow(RangeError);
    const h = new TurboShake128(1);
    h.xof(1);
    expect(() => h.update(Uint8Array.of(1))).toThrow();
  });
});
