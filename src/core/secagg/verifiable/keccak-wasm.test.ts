import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keccakP12 } from './keccak';
import { KECCAK_WASM, keccakWasm } from './keccak-wasm';

/** keccak.ts's reference: each block's 42 words XORed into the state, then the permutation. */
function absorbJs(state: Uint32Array, data: Uint8Array): void {
  const words = new Uint32Array(data.slice().buffer);
  for (let b = 0; b < data.length / 168; b++) {
    for (let i = 0; i < 42; i++) state[i]! ^= words[42 * b + i]!;
    keccakP12(state);
  }
}

describe('keccak-wasm: Keccak-p[1600, 12] in WebAssembly, word for word keccak.ts', () => {
  it('is a valid module under the 4 KB that a browser compiles synchronously on its main thread', () => {
    expect(WebAssembly.validate(KECCAK_WASM)).toBe(true);
    expect(KECCAK_WASM.length).toBeLessThan(4096);
  });

  it('absorbs any number of blocks (at any offset of the data) and permutes as keccak.ts does', () => {
    const wasm = keccakWasm()!;
    fc.assert(
      fc.property(fc.uint32Array({ minLength: 50, maxLength: 50 }), fc.nat(5), fc.nat(7), (start, blocks, offset) => {
        const data = crypto.getRandomValues(new Uint8Array(offset + 168 * blocks)).subarray(offset);
        const a = Uint32Array.from(start);
        const b = Uint32Array.from(start);
        wasm.absorb(a, data);
        absorbJs(b, data);
        expect(a).toEqual(b);
        wasm.permute(a);
        keccakP12(b);
        expect(a).toEqual(b);
      }),
      { numRuns: 100 },
    );
    // a long input, through the module's memory in chunks
    const long = new Uint8Array(168 * 800).map((_, i) => (i * 131) & 0xff);
    const a = crypto.getRandomValues(new Uint32Array(50));
    const b = a.slice();
    wasm.absorb(a, long);
    absorbJs(b, long);
    expect(a).toEqual(b);
    // edge states: all zero, all ones
    for (const fill of [0, 0xffffffff]) {
      const a = new Uint32Array(50).fill(fill);
      const b = a.slice();
      wasm.permute(a);
      keccakP12(b);
      expect(a).toEqual(b);
    }
  });

  it('squeezes blocks with the state permuted between them (not before the first), in chunks for long runs', () => {
    const wasm = keccakWasm()!;
    for (const blocks of [0, 1, 2, 5, 400]) {
      const a = crypto.getRandomValues(new Uint32Array(50));
      const b = a.slice();
      const out = new Uint8Array(168 * blocks);
      wasm.squeeze(a, out, blocks);
      const expected = new Uint32Array(42 * blocks);
      for (let k = 0; k < blocks; k++) {
        if (k > 0) keccakP12(b);
        expected.set(b.subarray(0, 42), 42 * k);
      }
      expect(Buffer.from(out).equals(Buffer.from(expected.buffer))).toBe(true); // (toEqual is slow on 67 KB)
      expect(a).toEqual(b);
    }
  });
});
