/** PINE's wraparound checks: the {−1, 0, +1} projections Z_k drawn from the wraparound seed, and their exact dot products. */
import { type Field } from '@divviup/field';
import { turboshake128 } from './turboshake';
import { wraparoundKernel, wraparoundWasmSupported } from './wraparound-wasm';

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
const LIMB_BIG = 1n << 32n;

/**
 * The vector as 32-bit limbs, from field elements or from their encoding (`nw` words an element, little-endian: 4 for
 * Field128, 2 for Field64): `small` (float64) when every element is < 2^32 (the device's entries), else `words`, nw
 * per entry least significant first (the encoding's own layout: a view of it when aligned).
 */
function toLimbs(v: readonly bigint[] | Uint8Array, length: number, nw: 2 | 4): { small: Float64Array } | { words: Uint32Array } {
  if (v instanceof Uint8Array) {
    if (v.length < 4 * nw * length) throw new RangeError('the encoding is shorter than the vector');
    const words =
      v.byteOffset % 4 === 0 ? new Uint32Array(v.buffer, v.byteOffset, nw * length) : new Uint32Array(v.slice(0, 4 * nw * length).buffer, 0, nw * length);
    let small = true;
    for (let i = 0; i < length && small; i++) {
      let high = 0;
      for (let l = 1; l < nw; l++) high |= words[nw * i + l]!;
      small = high === 0;
    }
    if (!small) return { words };
    const part = new Float64Array(length);
    for (let i = 0; i < length; i++) part[i] = words[nw * i]!;
    return { small: part };
  }
  let small = true;
  for (let i = 0; i < length && small; i++) small = v[i]! < LIMB_BIG;
  if (small) return { small: Float64Array.from({ length }, (_, i) => Number(v[i]!)) };
  const words = new Uint32Array(nw * length);
  for (let i = 0; i < length; i++) {
    let e = v[i]!;
    for (let l = 0; l < nw; l++) {
      words[nw * i + l] = Number(e & 0xffffffffn);
      e >>= 32n;
    }
  }
  return { words };
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

const PLUS_UNIT = 2 ** 22;
/** Every byte's −1s + 2^22 × its +1s (its four trits), so that one pass counts both (exact: ≤ 2^21 entries). */
const BYTE_COUNTS = Float64Array.from({ length: 256 }, (_, n) => {
  const trits = [0, 1, 2, 3].map((j) => TRITS[4 * n + j]!);
  return trits.filter((t) => t === -1).length + PLUS_UNIT * trits.filter((t) => t === 1).length;
});

/**
 * Over the whole bytes of a check's trits: the −1s (wraparound-wasm.ts sums ~x = −x − 1 for them) and Σ_i Z_i
 * over the first `length` entries (the tail's entries one by one), in one pass.
 */
function tritCounts(bytes: Uint8Array, length: number): { minus: number; sum: number } {
  const whole = length >> 2;
  let packed = 0;
  for (let b = 0; b < whole; b++) packed += BYTE_COUNTS[bytes[b]!]!;
  const plus = Math.floor(packed / PLUS_UNIT);
  const minus = packed - plus * PLUS_UNIT;
  let sum = plus - minus;
  for (let i = 4 * whole; i < length; i++) sum += TRITS[4 * bytes[i >> 2]! + (i & 3)]!;
  return { minus, sum };
}

/**
 * limbDots4 for every check, by wraparound-wasm.ts (two checks a call) over the whole bytes; the tail's entries
 * (length mod 4) here. Exact: each limb's sum stays below 2^53 in magnitude. `nw` limbs an entry (4 or 2).
 */
function wasmSums(words: Uint32Array, checks: readonly Uint8Array[], minusCounts: readonly number[], length: number, nw: 2 | 4): number[][] {
  const kernel = wraparoundKernel().load(words, length, nw);
  const whole = length >> 2;
  const out: number[][] = [];
  for (let k = 0; k < checks.length; k += 2) {
    const a = checks[k]!;
    const b = checks[k + 1] ?? a;
    const raw = kernel.sums(a, b);
    for (const [c, bytes] of (k + 1 < checks.length ? [a, b] : [a]).entries()) {
      const minus = minusCounts[k + c]!;
      const sums = Array.from({ length: nw }, (_, l) => Number(raw[4 * c + l]!) + minus);
      for (let i = 4 * whole; i < length; i++) {
        const z = TRITS[4 * bytes[i >> 2]! + (i & 3)]!;
        for (let l = 0; l < nw; l++) sums[l]! += z * words[nw * i + l]!;
      }
      out.push(sums);
    }
  }
  return out;
}

/**
 * ⟨Z_k, v⟩ mod q for k < r and the first `length` elements of v, with Σ_i Z_k,i: exact, without BigInt in the
 * inner loop: v is split into 32-bit limbs (one for the device's small entries, summed as float64 here; four for
 * an aggregator's share of Field128 elements, two of Field64, summed by wraparound-wasm.ts, or by limbDots4 with
 * `kernel` 'js' or without WebAssembly)
 * and each limb's ±sum stays below 2^53 (length ≤ 2^21); the limbs are recombined once per check. `v` may be the
 * elements or their encoding (field.encodedSize bytes each, LE).
 */
export function wraparoundDots(
  field: Field,
  seed: Uint8Array,
  repetitions: number,
  v: readonly bigint[] | Uint8Array,
  length: number,
  kernel: 'wasm' | 'js' = 'wasm',
): { dots: bigint[]; zSums: number[] } {
  if (length > 2 ** 21) throw new RangeError('the wraparound dot products take at most 2^21 entries');
  const nw = field.encodedSize === 16 ? 4 : field.encodedSize === 8 ? 2 : 0;
  if (nw === 0) throw new RangeError(`the wraparound dot products take fields of 8 or 16 bytes (got ${field.encodedSize})`);
  const limbs = toLimbs(v, length, nw);
  const checks = Array.from({ length: repetitions }, (_, k) => checkBytes(seed, k, length));
  let sums: number[][];
  const counts = checks.map((bytes) => tritCounts(bytes, length));
  if ('small' in limbs) sums = checks.map((bytes) => [limbDot(bytes, limbs.small, length)]);
  else if (kernel === 'wasm' && wraparoundWasmSupported())
    sums = wasmSums(
      limbs.words,
      checks,
      counts.map((c) => c.minus),
      length,
      nw,
    );
  else {
    // four limbs an entry (Field64's upper two 0)
    const interleaved = new Float64Array(4 * length);
    for (let i = 0; i < length; i++) for (let l = 0; l < nw; l++) interleaved[4 * i + l] = limbs.words[nw * i + l]!;
    sums = checks.map((bytes) => limbDots4(bytes, interleaved, length));
  }
  const dots: bigint[] = [];
  const zSums: number[] = [];
  for (let k = 0; k < checks.length; k++) {
    let dot = 0n;
    for (let l = sums[k]!.length - 1; l >= 0; l--) dot = dot * BigInt(LIMB) + BigInt(sums[k]![l]!); // may be negative: reduced below
    dot %= field.modulus;
    if (dot < 0n) dot += field.modulus;
    dots.push(dot);
    zSums.push(counts[k]!.sum);
  }
  return { dots, zSums };
}
