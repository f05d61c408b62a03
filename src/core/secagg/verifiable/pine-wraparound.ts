/** PINE's wraparound checks: the {−1, 0, +1} projections Z_k drawn from the wraparound seed, and their exact dot products. */
import { type Field } from '@divviup/field';
import { turboshake128 } from './turboshake';

/** Z_k's trits as bytes of TurboSHAKE128(seed ‖ k): entry i is bits 2(i mod 4).. of byte ⌊i/4⌋, 00 → −1, 11 → +1. */
function checkBytes(seed: Uint8Array, k: number, length: number): Uint8Array {
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  new DataView(input.buffer).setUint32(seed.length, k, true);
  return turboshake128(input, { dkLen: Math.ceil(length / 4), D: 0x21 });
}

/** A trit's value from its two bits: 00 → −1, 01 and 10 → 0, 11 → +1, i.e. (low + high) − 1. */
const trit = (t: number): number => (t & 1) + (t >> 1) - 1;

/** The four trits of every byte: TRITS[4·byte + j] = entry j of that byte. */
const TRITS = Int8Array.from({ length: 1024 }, (_, n) => trit(((n >> 2) >> (2 * (n & 3))) & 3));

/** The trits of Z_k (for the tests and the honest encoder's exact dot products). */
export function wraparoundVector(seed: Uint8Array, k: number, length: number): Int8Array {
  const bytes = checkBytes(seed, k, length);
  const z = new Int8Array(length);
  for (let i = 0; i < length; i++) z[i] = TRITS[4 * bytes[i >> 2]! + (i & 3)]!;
  return z;
}

const LIMB = 2 ** 32;

/**
 * The vector as 32-bit limbs (float64 arrays, least significant first), from field elements or from their
 * encoding (16 bytes each, little-endian): only as many limbs as its largest element needs.
 */
function toLimbs(v: readonly bigint[] | Uint8Array, length: number): Float64Array[] {
  if (v instanceof Uint8Array) {
    if (v.length < 16 * length) throw new RangeError('the encoding is shorter than the vector');
    const view = new DataView(v.buffer, v.byteOffset, 16 * length);
    let limbs = 1;
    for (let i = 0; i < length; i++) for (let l = 3; l >= limbs; l--) if (view.getUint32(16 * i + 4 * l, true) !== 0) limbs = l + 1;
    const parts = Array.from({ length: limbs }, () => new Float64Array(length));
    for (let l = 0; l < limbs; l++) {
      const part = parts[l]!;
      for (let i = 0; i < length; i++) part[i] = view.getUint32(16 * i + 4 * l, true);
    }
    return parts;
  }
  let limbs = 1;
  let bound = 1n << 32n;
  for (let i = 0; i < length; i++)
    while (v[i]! >= bound) {
      limbs++;
      bound <<= 32n;
    }
  const parts = Array.from({ length: limbs }, () => new Float64Array(length));
  for (let i = 0; i < length; i++) {
    let e = v[i]!;
    if (e < LIMB && limbs === 1) {
      parts[0]![i] = Number(e);
      continue;
    }
    for (let l = 0; l < limbs; l++) {
      parts[l]![i] = Number(e & 0xffffffffn);
      e >>= 32n;
    }
  }
  return parts;
}

/** Σ_i Z_i·part_i over the whole bytes (4 entries each, by the TRITS table) and the tail's entries one by one. */
function limbDot(bytes: Uint8Array, part: Float64Array, length: number): number {
  const whole = length >> 2;
  let a0 = 0;
  let a1 = 0;
  for (let b = 0; b < whole; b++) {
    const t = 4 * bytes[b]!;
    const i = 4 * b;
    a0 += TRITS[t]! * part[i]! + TRITS[t + 1]! * part[i + 1]!;
    a1 += TRITS[t + 2]! * part[i + 2]! + TRITS[t + 3]! * part[i + 3]!;
  }
  for (let i = 4 * whole; i < length; i++) a0 += TRITS[4 * bytes[i >> 2]! + (i & 3)]! * part[i]!;
  return a0 + a1;
}

/**
 * limbDot for four limbs at once, interleaved (limb l of entry i at 4i + l): one pass over the trits instead of
 * four (an aggregator's share of Field128 elements).
 */
function limbDots4(bytes: Uint8Array, interleaved: Float64Array, length: number): [number, number, number, number] {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let i = 0; i < length; i++) {
    const z = TRITS[4 * bytes[i >> 2]! + (i & 3)]!;
    const at = 4 * i;
    a0 += z * interleaved[at]!;
    a1 += z * interleaved[at + 1]!;
    a2 += z * interleaved[at + 2]!;
    a3 += z * interleaved[at + 3]!;
  }
  return [a0, a1, a2, a3];
}

/** The sum of every byte's four trits. */
const BYTE_SUMS = Int8Array.from({ length: 256 }, (_, n) => TRITS[4 * n]! + TRITS[4 * n + 1]! + TRITS[4 * n + 2]! + TRITS[4 * n + 3]!);

/** Σ_i Z_i over the first `length` entries. */
function tritSum(bytes: Uint8Array, length: number): number {
  const whole = length >> 2;
  let s = 0;
  for (let b = 0; b < whole; b++) s += BYTE_SUMS[bytes[b]!]!;
  for (let i = 4 * whole; i < length; i++) s += TRITS[4 * bytes[i >> 2]! + (i & 3)]!;
  return s;
}

/**
 * ⟨Z_k, v⟩ mod q for k < r and the first `length` elements of v, with Σ_i Z_k,i: exact, without BigInt in the
 * inner loop: v is split into 32-bit limbs held as float64 (only those its largest element needs: one for the
 * device's small entries, four for an aggregator's share) and each limb's ±sum stays below 2^53 (length ≤ 2^21);
 * the limbs are recombined once per check. `v` may be the elements or their encoding (16 bytes each, LE).
 */
export function wraparoundDots(
  field: Field,
  seed: Uint8Array,
  repetitions: number,
  v: readonly bigint[] | Uint8Array,
  length: number,
): { dots: bigint[]; zSums: number[] } {
  if (length > 2 ** 21) throw new RangeError('the wraparound dot products take at most 2^21 entries');
  const parts = toLimbs(v, length);
  let interleaved: Float64Array | null = null;
  if (parts.length > 1) {
    interleaved = new Float64Array(4 * length);
    parts.forEach((part, l) => part.forEach((e, i) => (interleaved![4 * i + l] = e)));
  }
  const dots: bigint[] = [];
  const zSums: number[] = [];
  for (let k = 0; k < repetitions; k++) {
    const bytes = checkBytes(seed, k, length);
    const sums = interleaved ? limbDots4(bytes, interleaved, length) : [limbDot(bytes, parts[0]!, length)];
    let dot = 0n;
    for (let l = sums.length - 1; l >= 0; l--) dot = dot * BigInt(LIMB) + BigInt(sums[l]!); // may be negative: reduced below
    dot %= field.modulus;
    if (dot < 0n) dot += field.modulus;
    dots.push(dot);
    zSums.push(tritSum(bytes, length));
  }
  return { dots, zSums };
}
