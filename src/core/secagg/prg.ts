/**
 * The mask PRG: AES-128-CTR (WebCrypto) keystream from a 16-byte seed, read as little-endian u32 words.
 * Added to / subtracted from an accumulator mod 2^32. WebCrypto does the cipher; the loop is ours.
 */

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
let zeros = new Uint8Array(0);

/** PRG(seed) as `length` u32 words. */
export async function expand(seed: Uint8Array, length: number): Promise<Uint32Array> {
  const bytes = length * 4;
  if (zeros.length < bytes) zeros = new Uint8Array(bytes);
  const key = await globalThis.crypto.subtle.importKey('raw', seed as Uint8Array<ArrayBuffer>, 'AES-CTR', false, ['encrypt']);
  const stream = await globalThis.crypto.subtle.encrypt(
    { name: 'AES-CTR', counter: new Uint8Array(16), length: 64 },
    key,
    zeros.subarray(0, bytes),
  );
  if (littleEndian) return new Uint32Array(stream);
  const view = new DataView(stream);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

/** acc += sign * PRG(seed) mod 2^32, in place. */
export async function addMask(acc: Uint32Array, seed: Uint8Array, sign: 1 | -1): Promise<void> {
  const mask = await expand(seed, acc.length);
  if (sign === 1) for (let i = 0; i < acc.length; i++) acc[i] = (acc[i]! + mask[i]!) >>> 0;
  else for (let i = 0; i < acc.length; i++) acc[i] = (acc[i]! - mask[i]!) >>> 0;
}

/**
 * acc += Σ sign * PRG(seed), expanding a few masks at once: WebCrypto runs them off the main thread, so overlapping
 * them hides its dispatch latency (2-4x faster here than one at a time). At most `batch` keystreams in memory.
 */
export async function addMasks(acc: Uint32Array, masks: readonly { seed: Uint8Array; sign: 1 | -1 }[], batch = 8): Promise<void> {
  for (let start = 0; start < masks.length; start += batch) {
    const group = masks.slice(start, start + batch);
    const streams = await Promise.all(group.map((m) => expand(m.seed, acc.length)));
    group.forEach((m, g) => {
      const mask = streams[g]!;
      if (m.sign === 1) for (let i = 0; i < acc.length; i++) acc[i] = (acc[i]! + mask[i]!) >>> 0;
      else for (let i = 0; i < acc.length; i++) acc[i] = (acc[i]! - mask[i]!) >>> 0;
    });
  }
}
