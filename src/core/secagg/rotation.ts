/**
 * The randomized Hadamard transform of the distributed discrete Gaussian (Kairouz, Liu & Steinke 2021,
 * flattening step): x ↦ H·D·x with D a diagonal of random ±1 and H the normalised Walsh–Hadamard matrix
 * (H = Hᵀ = H⁻¹ once divided by √size). It is orthogonal, so it keeps the L2 norm the privacy analysis
 * depends on, and it spreads a vector's mass evenly over its coordinates ("flattening").
 *
 * Blocks. H needs a power-of-two length, and padding 346,384 values (the app's delta) to 2¹⁹ would
 * upload 1.51× the plaintext. So the vector is padded only to a multiple of 1,024 and rotated block by
 * block: blocks of 2¹⁶ while they fit, then one block per binary digit of the rest (each ≥ 1,024). A
 * block-diagonal of orthogonal matrices is orthogonal, so nothing in the privacy analysis changes
 * (it uses only ‖Rx‖ = ‖x‖ and the padded dimension). Flattening is per block, which is all the
 * encoder needs (its scale is chosen for the worst case, not the flattened one).
 *
 * The diagonal D comes from a public per-round seed expanded by SHAKE256 (@noble/hashes, synchronous),
 * so every device and the server derive the same signs with no further message. It is public on
 * purpose: the rotation serves quantization, not secrecy.
 */
import { shake256 } from '@noble/hashes/sha3.js';

/** Vectors up to this length are padded to the next power of two (one block). */
const SMALL = 1024;
/** The largest block. */
const MAX_BLOCK = 1 << 16;
const DOMAIN = new TextEncoder().encode('private-recs/secagg/rotation/v1\u0000');
/** Seeds shorter than this are refused: a fixed or empty seed is almost surely a bug upstream. */
export const MIN_ROTATION_SEED_BYTES = 16;

/** Length after padding (see the module comment): ≤ length + 1,023 beyond 1,024. */
export function paddedLength(length: number): number {
  if (!(Number.isInteger(length) && length >= 1 && length <= 2 ** 30)) throw new RangeError(`a vector length must be an integer in [1, 2³⁰] (got ${length})`);
  if (length <= SMALL) {
    let size = 1;
    while (size < length) size *= 2;
    return size;
  }
  return Math.ceil(length / SMALL) * SMALL;
}

/** Block sizes (powers of two, in order) that tile a padded length. */
export function blockSizes(padded: number): number[] {
  const sizes: number[] = [];
  let rest = padded;
  while (rest >= MAX_BLOCK) {
    sizes.push(MAX_BLOCK);
    rest -= MAX_BLOCK;
  }
  for (let bit = MAX_BLOCK >> 1; bit >= 1; bit >>= 1) {
    if (rest & bit) sizes.push(bit);
  }
  return sizes;
}

/** The ±1 diagonal for a padded length: bit i of SHAKE256(domain ‖ seed) is 1 → −1. */
export function rotationSigns(rotationSeed: Uint8Array, padded: number): Int8Array {
  if (!(rotationSeed instanceof Uint8Array) || rotationSeed.length < MIN_ROTATION_SEED_BYTES) {
    throw new RangeError(`the rotation seed must be at least ${MIN_ROTATION_SEED_BYTES} bytes`);
  }
  const input = new Uint8Array(DOMAIN.length + rotationSeed.length);
  input.set(DOMAIN, 0);
  input.set(rotationSeed, DOMAIN.length);
  const bits = shake256(input, { dkLen: Math.ceil(padded / 8) });
  const signs = new Int8Array(padded);
  for (let i = 0; i < padded; i++) signs[i] = (bits[i >> 3]! >> (i & 7)) & 1 ? -1 : 1;
  return signs;
}

/** In-place unnormalised fast Walsh–Hadamard transform of a[offset, offset + size), size a power of two. */
export function fwhtInPlace(a: Float64Array, offset = 0, size = a.length): void {
  if (size & (size - 1)) throw new RangeError(`the Hadamard transform needs a power-of-two length (got ${size})`);
  for (let h = 1; h < size; h *= 2) {
    for (let i = offset; i < offset + size; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const x = a[j]!;
        const y = a[j + h]!;
        a[j] = x + y;
        a[j + h] = x - y;
      }
    }
  }
}

function hadamardBlocks(a: Float64Array): void {
  let offset = 0;
  for (const size of blockSizes(a.length)) {
    fwhtInPlace(a, offset, size);
    const norm = 1 / Math.sqrt(size);
    for (let i = offset; i < offset + size; i++) a[i] = a[i]! * norm;
    offset += size;
  }
}

/** R·x = H·D·x on the padded vector (x zero-padded to `signs.length`), in float64. */
export function rotate(x: ArrayLike<number>, signs: Int8Array): Float64Array {
  if (x.length > signs.length) throw new RangeError(`a vector of ${x.length} values does not fit the rotation's ${signs.length}`);
  const out = new Float64Array(signs.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * signs[i]!;
  hadamardBlocks(out);
  return out;
}

/** Rᵀ·y = D·H·y (H is symmetric and its own inverse once normalised); y has the padded length. */
export function unrotate(y: ArrayLike<number>, signs: Int8Array): Float64Array {
  if (y.length !== signs.length) throw new RangeError(`a rotated vector must have the padded length ${signs.length} (got ${y.length})`);
  const out = Float64Array.from(y);
  hadamardBlocks(out);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * signs[i]!;
  return out;
}
