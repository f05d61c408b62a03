/** PINE's wraparound checks: the {−1, 0, +1} projections Z_k drawn from the wraparound seed, and their exact dot products. */
import { type Field } from '@divviup/field';
import { turboshake128 } from '@noble/hashes/sha3-addons.js';

/** Z_k's trits as bytes of TurboSHAKE128(seed ‖ k): entry i is bits 2(i mod 4).. of byte ⌊i/4⌋, 00 → −1, 11 → +1. */
function checkBytes(seed: Uint8Array, k: number, length: number): Uint8Array {
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  new DataView(input.buffer).setUint32(seed.length, k, true);
  return turboshake128(input, { dkLen: Math.ceil(length / 4), D: 0x21 });
}

/** The trits of Z_k (for the tests and the honest encoder's exact dot products). */
export function wraparoundVector(seed: Uint8Array, k: number, length: number): Int8Array {
  const bytes = checkBytes(seed, k, length);
  const z = new Int8Array(length);
  for (let i = 0; i < length; i++) {
    const t = (bytes[i >> 2]! >> ((i & 3) * 2)) & 3;
    z[i] = t === 0 ? -1 : t === 3 ? 1 : 0;
  }
  return z;
}

const LIMB = 2 ** 32;

/**
 * ⟨Z_k, v⟩ mod q for k < r and the first `length` elements of v, with Σ_i Z_k,i: exact, without BigInt in the
 * inner loop: v is split into 32-bit limbs held as float64 and each limb's ±sum stays below 2^53 (length ≤ 2^21);
 * the limbs are recombined once per check.
 */
export function wraparoundDots(field: Field, seed: Uint8Array, repetitions: number, v: readonly bigint[], length: number): { dots: bigint[]; zSums: number[] } {
  if (length > 2 ** 21) throw new RangeError('the wraparound dot products take at most 2^21 entries');
  let limbs = 1;
  for (let i = 0; i < length; i++) while (v[i]! >= 1n << BigInt(32 * limbs)) limbs++;
  const parts = Array.from({ length: limbs }, () => new Float64Array(length));
  for (let i = 0; i < length; i++) {
    let e = v[i]!;
    for (let l = 0; l < limbs; l++) {
      parts[l]![i] = Number(e & 0xffffffffn);
      e >>= 32n;
    }
  }
  const dots: bigint[] = [];
  const zSums: number[] = [];
  const acc = new Float64Array(limbs);
  for (let k = 0; k < repetitions; k++) {
    const bytes = checkBytes(seed, k, length);
    acc.fill(0);
    let zSum = 0;
    for (let i = 0; i < length; i++) {
      const t = (bytes[i >> 2]! >> ((i & 3) * 2)) & 3;
      if (t === 1 || t === 2) continue;
      const sign = t === 0 ? -1 : 1;
      zSum += sign;
      for (let l = 0; l < limbs; l++) acc[l] = acc[l]! + sign * parts[l]![i]!;
    }
    let dot = 0n;
    for (let l = limbs - 1; l >= 0; l--) dot = dot * BigInt(LIMB) + BigInt(acc[l]!); // may be negative: reduced below
    dot %= field.modulus;
    if (dot < 0n) dot += field.modulus;
    dots.push(dot);
    zSums.push(zSum);
  }
  return { dots, zSums };
}
