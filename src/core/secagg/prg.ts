/**
 * The mask PRG: AES-128-CTR (WebCrypto) keystream from a 16-byte seed, the counter block starting at zero and its
 * low 64 bits counting blocks, read as little-endian u32 words. Added to / subtracted from an accumulator mod 2^32.
 * WebCrypto does the cipher; the loop is ours.
 *
 * `addMasks` asks WebCrypto for the keystream in chunks (CHUNK_BYTES, the counter set to the chunk's first block, so
 * the bytes are exactly those of one call over the whole vector) rather than in one call per mask: every call
 * returns a new buffer, and a buffer the size of the vector (1.3 MiB for the app's delta) is fresh memory each time
 * (Chromium also copies the input and the output on the way), while a chunk's buffers are small enough for the
 * allocator to reuse. A few chunks are in flight at once, so WebCrypto's thread encrypts the next while this one adds
 * the last. Measured: docs/secure-aggregation.md ("Masking by chunks").
 */

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Keystream bytes per WebCrypto call (a multiple of the 16-byte block). */
export const CHUNK_BYTES = 64 * 1024;
/** WebCrypto calls in flight at once for one mask. */
const IN_FLIGHT = 4;
let zeros = new Uint8Array(0);

function zerosOf(bytes: number): Uint8Array<ArrayBuffer> {
  if (zeros.length < bytes) zeros = new Uint8Array(bytes);
  return zeros.subarray(0, bytes);
}

function importSeed(seed: Uint8Array): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', seed as Uint8Array<ArrayBuffer>, 'AES-CTR', false, ['encrypt']);
}

/** The counter block of the keystream's block `block`: zero but for the low 64 bits (here below 2^32). */
function counterAt(block: number): Uint8Array<ArrayBuffer> {
  const counter = new Uint8Array(16);
  new DataView(counter.buffer).setUint32(12, block);
  return counter;
}

async function keystream(key: CryptoKey, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
  return globalThis.crypto.subtle.encrypt({ name: 'AES-CTR', counter: counterAt(byteOffset / 16), length: 64 }, key, zerosOf(bytes));
}

/** PRG(seed) as `length` u32 words, in one WebCrypto call (the reference `addMasks` must match; tests and benches). */
export async function expand(seed: Uint8Array, length: number): Promise<Uint32Array> {
  const stream = await keystream(await importSeed(seed), 0, length * 4);
  if (littleEndian) return new Uint32Array(stream);
  const view = new DataView(stream);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

/** acc[at …] += sign · the keystream's words, mod 2^32. */
function addWords(acc: Uint32Array, at: number, stream: ArrayBuffer, sign: 1 | -1): void {
  const words = stream.byteLength >>> 2;
  if (littleEndian) {
    const mask = new Uint32Array(stream, 0, words);
    if (sign === 1) for (let i = 0; i < words; i++) acc[at + i] = (acc[at + i]! + mask[i]!) >>> 0;
    else for (let i = 0; i < words; i++) acc[at + i] = (acc[at + i]! - mask[i]!) >>> 0;
    return;
  }
  const view = new DataView(stream);
  for (let i = 0; i < words; i++) acc[at + i] = (acc[at + i]! + sign * view.getUint32(4 * i, true)) >>> 0;
}

/** acc += sign · PRG(seed) mod 2^32, in place. */
export async function addMask(acc: Uint32Array, seed: Uint8Array, sign: 1 | -1): Promise<void> {
  await addMasks(acc, [{ seed, sign }]);
}

/** acc += Σ sign · PRG(seed) mod 2^32, in place: each mask's keystream a chunk at a time (see the file's comment). */
export async function addMasks(acc: Uint32Array, masks: readonly { seed: Uint8Array; sign: 1 | -1 }[]): Promise<void> {
  const bytes = acc.length * 4;
  const keys = await Promise.all(masks.map((m) => importSeed(m.seed)));
  for (let m = 0; m < masks.length; m++) {
    const key = keys[m]!;
    const sign = masks[m]!.sign;
    let pending: Promise<void>[] = [];
    for (let offset = 0; offset < bytes; offset += CHUNK_BYTES) {
      const at = offset >>> 2;
      pending.push(keystream(key, offset, Math.min(CHUNK_BYTES, bytes - offset)).then((stream) => addWords(acc, at, stream, sign)));
      if (pending.length >= IN_FLIGHT) {
        await Promise.all(pending);
        pending = [];
      }
    }
    await Promise.all(pending);
  }
}
