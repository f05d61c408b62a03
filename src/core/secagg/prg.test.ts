import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addMask, addMasks, CHUNK_BYTES, expand } from './prg';

/** AES-128-CTR keystream from a zero counter, as little-endian u32 words (Node's OpenSSL: an independent implementation). */
function reference(seed: Uint8Array, length: number): Uint32Array {
  const cipher = createCipheriv('aes-128-ctr', seed, new Uint8Array(16));
  const bytes = cipher.update(new Uint8Array(length * 4));
  return new Uint32Array(bytes.buffer, bytes.byteOffset, length).slice();
}

describe('the mask PRG (AES-128-CTR)', () => {
  const seeds = [Uint8Array.from({ length: 16 }, (_, i) => i), Uint8Array.from({ length: 16 }, (_, i) => 255 - 7 * i)];

  it('is AES-128-CTR from a zero counter, as OpenSSL computes it', async () => {
    for (const length of [1, 5, 1000]) expect(await expand(seeds[0]!, length)).toEqual(reference(seeds[0]!, length));
  });

  it('adds the same keystream by chunks as in one call, across chunk boundaries and a partial last block', async () => {
    // Lengths around the chunk size (in words) and not a multiple of the 4-word block.
    const words = CHUNK_BYTES / 4;
    for (const length of [3, words - 1, words, words + 1, 3 * words + 5]) {
      const start = Uint32Array.from({ length }, (_, i) => (i * 2654435761) >>> 0);
      const acc = start.slice();
      await addMasks(acc, [
        { seed: seeds[0]!, sign: 1 },
        { seed: seeds[1]!, sign: -1 },
      ]);
      const a = reference(seeds[0]!, length);
      const b = reference(seeds[1]!, length);
      expect(acc).toEqual(start.map((x, i) => (x + a[i]! - b[i]!) >>> 0));
    }
  });

  it('cancels: +PRG(s) then −PRG(s) leaves the accumulator as it was', async () => {
    const start = Uint32Array.from({ length: 70_001 }, (_, i) => i);
    const acc = start.slice();
    await addMask(acc, seeds[1]!, 1);
    expect(acc).not.toEqual(start);
    await addMask(acc, seeds[1]!, -1);
    expect(acc).toEqual(start);
  });
});
