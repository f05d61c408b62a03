/**
 * Fast byte conversions for Field128 vectors, written by hand because the package's are the device's and the
 * aggregators' largest costs at the app's length (profiled, stop 34): `@divviup/field`'s `encode` writes each
 * element with 16 BigInt divisions, its `decode` and `@divviup/xof`'s `expandIntoVec` read each element as a sum of
 * 16 BigInt powers. These do the same with two 64-bit words through a DataView; the results are byte for byte the
 * package's (field128.test.ts checks them against it): little-endian 16-byte elements, and the XOF's rejection
 * sampling of vdaf-08 (TurboSHAKE128 with domain byte 1 over len(dst) ‖ dst ‖ seed ‖ binder, 16 bytes per
 * candidate, candidates ≥ q skipped; the mask 2^128 − 1 is a no-op for Field128).
 */
import { Field128 } from '@divviup/field';
import { TurboShake128 } from './turboshake';

export const FIELD128 = new Field128();
const Q = FIELD128.modulus;
const MASK64 = (1n << 64n) - 1n;

/** Field128 elements → 16 bytes each, little-endian (the package's field.encode). */
export function encode128(values: readonly bigint[], start = 0, end = values.length): Uint8Array {
  const out = new Uint8Array(16 * (end - start));
  const view = new DataView(out.buffer);
  for (let i = start; i < end; i++) {
    const v = values[i]!;
    const at = 16 * (i - start);
    view.setBigUint64(at, v & MASK64, true);
    view.setBigUint64(at + 8, v >> 64n, true);
  }
  return out;
}

/** 16 bytes each → Field128 elements (the package's field.decode); RangeError for a length or value out of the field. */
export function decode128(bytes: Uint8Array): bigint[] {
  if (bytes.length % 16 !== 0) throw new RangeError(`could not decode: ${bytes.length} bytes is not a multiple of 16`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Array<bigint>(bytes.length / 16);
  for (let i = 0; i < out.length; i++) {
    const v = view.getBigUint64(16 * i, true) | (view.getBigUint64(16 * i + 8, true) << 64n);
    if (v >= Q) throw new RangeError('decoded an element that is not in the field');
    out[i] = v;
  }
  return out;
}

/** vdaf-08's XofTurboShake128 over (seed, dst, binder): TurboSHAKE128 with domain byte 1 over len(dst) ‖ dst ‖ seed ‖ binder. */
function xof128(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array | readonly Uint8Array[]) {
  const xof = new TurboShake128(1).update(Uint8Array.of(dst.length)).update(dst).update(seed);
  for (const part of binder instanceof Uint8Array ? [binder] : binder) xof.update(part);
  return xof;
}

/**
 * XofTurboShake128.deriveSeed(seed, dst, binder) (16 bytes), synchronously, on turboshake.ts: the package's
 * (@noble/hashes 1.8) absorbs ≈ 5× slower, and the device hashes its whole encoded shares four times. A
 * binder given in parts is their concatenation (without copying them).
 */
export function deriveSeed128(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return xof128(seed, dst, binder).xof(16);
}

/** Is the 16-byte little-endian element at `at` ≥ q = 2^128 − 28·2^64 + 1 (words 1, 0, 0xffffffe4, 0xffffffff)? */
function outOfField(view: DataView, at: number): boolean {
  if (view.getUint32(at + 12, true) !== 0xffffffff) return false;
  const w2 = view.getUint32(at + 8, true);
  return w2 > 0xffffffe4 || (w2 === 0xffffffe4 && (view.getUint32(at, true) | view.getUint32(at + 4, true)) !== 0);
}

/**
 * XofTurboShake128.expandIntoVec(Field128, seed, dst, binder, length), encoded (16 bytes an element): the XOF's
 * bytes themselves, with the candidates ≥ q skipped (probability < 2^−66 each), synchronously and in one pass.
 */
export function expandBytes128(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): Uint8Array {
  const xof = xof128(seed, dst, binder);
  let out = xof.xof(16 * length);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  let kept = 0;
  for (let at = 0; at < out.length; at += 16) if (!outOfField(view, at)) kept++;
  if (kept === length) return out;
  // rare: keep the valid candidates in order, then read more
  const all = new Uint8Array(16 * length);
  let n = 0;
  while (n < length) {
    const v = new DataView(out.buffer, out.byteOffset, out.length);
    for (let at = 0; at < out.length && n < length; at += 16)
      if (!outOfField(v, at)) {
        all.set(out.subarray(at, at + 16), 16 * n);
        n++;
      }
    if (n < length) out = xof.xof(16 * (length - n));
  }
  return all;
}

/** XofTurboShake128.expandIntoVec(Field128, seed, dst, binder, length), synchronously and in one pass. */
export function expand128(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): bigint[] {
  return decode128(expandBytes128(seed, dst, binder, length));
}

const TWO32 = 2 ** 32;
/** q's 32-bit words, least significant first. */
const Q_WORDS = [1, 0, 0xffffffe4, 0xffffffff] as const;

/**
 * (a_i − b_i) mod q for i < length, encoded (16 bytes each), with b given encoded: word by word, without BigInt,
 * when a_i < 2^32 (the device's entries y_i); BigInt otherwise.
 */
export function subEncoded128(a: readonly bigint[], b: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16 * length);
  const bv = new DataView(b.buffer, b.byteOffset, b.length);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < length; i++) {
    const ai = a[i]!;
    const at = 16 * i;
    if (ai >= 4294967296n) {
      const bi = bv.getBigUint64(at, true) | (bv.getBigUint64(at + 8, true) << 64n);
      const v = ai - bi;
      const r = v < 0n ? v + Q : v;
      ov.setBigUint64(at, r & MASK64, true);
      ov.setBigUint64(at + 8, r >> 64n, true);
      continue;
    }
    const y = Number(ai);
    const b0 = bv.getUint32(at, true);
    if (b0 <= y && (bv.getUint32(at + 4, true) | bv.getUint32(at + 8, true) | bv.getUint32(at + 12, true)) === 0) {
      ov.setUint32(at, y - b0, true); // y ≥ b: y − b, the other words 0
      continue;
    }
    // q − b + y (b < q, y < b): word by word with the carry in float64
    let carry = y;
    for (let w = 0; w < 4; w++) {
      const t = Q_WORDS[w]! - bv.getUint32(at + 4 * w, true) + carry;
      carry = Math.floor(t / TWO32);
      ov.setUint32(at + 4 * w, t - carry * TWO32, true);
    }
  }
  return out;
}

/**
 * Σ of encoded Field128 vectors (16 bytes an element) mod q, summed as 32-bit limbs in float64 (exact up to 2^21
 * vectors: each limb's sum stays below 2^53) and reduced once at the end: an aggregator's fold of its output
 * shares without a BigInt per entry per share (the package's aggregate and stop 36's fold made one per addition).
 * The same sum as the BigInt one (field128.test.ts).
 */
export class Sum128 {
  private readonly limbs: Float64Array;
  private count = 0;

  constructor(readonly length: number) {
    this.limbs = new Float64Array(4 * length);
  }

  /** Adds one encoded vector; RangeError for a wrong length or an element not in the field (as decode128). */
  add(encoded: Uint8Array): void {
    if (encoded.length !== 16 * this.length) throw new RangeError(`an encoded vector has ${encoded.length / 16} entries, not ${this.length}`);
    if (++this.count > 2 ** 21) throw new RangeError('Sum128 adds at most 2^21 vectors');
    const words = encoded.byteOffset % 4 === 0 ? new Uint32Array(encoded.buffer, encoded.byteOffset, 4 * this.length) : new Uint32Array(encoded.slice().buffer);
    for (let at = 0; at < words.length; at += 4)
      if (words[at + 3] === 0xffffffff && (words[at + 2]! > 0xffffffe4 || (words[at + 2] === 0xffffffe4 && (words[at]! | words[at + 1]!) !== 0)))
        throw new RangeError('decoded an element that is not in the field');
    const limbs = this.limbs;
    for (let i = 0; i < words.length; i++) limbs[i]! += words[i]!;
  }

  /** The sum mod q, encoded. */
  finish(): Uint8Array {
    const out = new Uint8Array(16 * this.length);
    const view = new DataView(out.buffer);
    const l = this.limbs;
    for (let i = 0; i < this.length; i++) {
      const v = (BigInt(l[4 * i]!) + (BigInt(l[4 * i + 1]!) << 32n) + (BigInt(l[4 * i + 2]!) << 64n) + (BigInt(l[4 * i + 3]!) << 96n)) % Q;
      view.setBigUint64(16 * i, v & MASK64, true);
      view.setBigUint64(16 * i + 8, v >> 64n, true);
    }
    return out;
  }
}

/** a − b elementwise in Field128. */
export function sub128(a: readonly bigint[], b: readonly bigint[], length = a.length): bigint[] {
  const out = new Array<bigint>(length);
  for (let i = 0; i < length; i++) {
    const v = a[i]! - b[i]!;
    out[i] = v < 0n ? v + Q : v;
  }
  return out;
}
