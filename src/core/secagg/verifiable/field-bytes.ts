/**
 * Fast byte conversions for the verifiable mode's two fields, Field128 (16 bytes an element, PINE since stop 34) and
 * Field64 (8 bytes, the Field64 PINE of stop 38), written by hand because the package's are the device's and the
 * aggregators' largest costs at the app's length (profiled, stop 34): `@divviup/field`'s `encode` writes each
 * element with one BigInt division a byte, its `decode` and `@divviup/xof`'s `expandIntoVec` read each element as a
 * sum of BigInt powers. These read and write 64-bit words through a DataView and compare 32-bit words; the results
 * are byte for byte the package's (field128.test.ts, field64.test.ts): little-endian elements, and the XOF's
 * rejection sampling of vdaf-08 (TurboSHAKE128 with domain byte 1 over len(dst) ‖ dst ‖ seed ‖ binder, one element's
 * bytes per candidate, candidates ≥ q skipped; the mask 2^(8·size) − 1 is a no-op for both fields).
 *
 * One class for both fields (`FieldBytes`), parameterized by the element's size: 16 bytes (four 32-bit words) or 8
 * (two). field128.ts keeps its names for the Field128 instance.
 */
import { Field128, Field64, type Field } from '@divviup/field';
import { TurboShake128 } from './turboshake';

const MASK64 = (1n << 64n) - 1n;
const TWO32 = 2 ** 32;

/** vdaf-08's XofTurboShake128 over (seed, dst, binder): TurboSHAKE128 with domain byte 1 over len(dst) ‖ dst ‖ seed ‖ binder. */
export function xofTurboShake(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array | readonly Uint8Array[]): TurboShake128 {
  const xof = new TurboShake128(1).update(Uint8Array.of(dst.length)).update(dst).update(seed);
  for (const part of binder instanceof Uint8Array ? [binder] : binder) xof.update(part);
  return xof;
}

/**
 * XofTurboShake128.deriveSeed(seed, dst, binder) (16 bytes), synchronously, on turboshake.ts: the package's
 * (@noble/hashes 1.8) absorbs ≈ 5× slower, and the device hashes its whole encoded shares four times. A
 * binder given in parts is their concatenation (without copying them). The same for both fields.
 */
export function deriveSeed(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return xofTurboShake(seed, dst, binder).xof(16);
}

/** The byte conversions of one field: `size` bytes an element (16 or 8), `words` 32-bit words (4 or 2). */
export class FieldBytes {
  readonly modulus: bigint;
  readonly size: 8 | 16;
  readonly words: 2 | 4;
  /** q's 32-bit words, least significant first. */
  readonly modulusWords: readonly number[];

  constructor(readonly field: Field) {
    if (field.encodedSize !== 8 && field.encodedSize !== 16) throw new RangeError(`fields of 8 or 16 bytes only (got ${field.encodedSize})`);
    this.modulus = field.modulus;
    this.size = field.encodedSize;
    this.words = field.encodedSize === 16 ? 4 : 2;
    this.modulusWords = Array.from({ length: this.words }, (_, w) => Number((field.modulus >> BigInt(32 * w)) & 0xffffffffn));
  }

  /** Elements → `size` bytes each, little-endian (the package's field.encode). */
  encode(values: readonly bigint[], start = 0, end = values.length): Uint8Array {
    const size = this.size;
    const out = new Uint8Array(size * (end - start));
    const view = new DataView(out.buffer);
    for (let i = start; i < end; i++) {
      const v = values[i]!;
      const at = size * (i - start);
      view.setBigUint64(at, v & MASK64, true);
      if (size === 16) view.setBigUint64(at + 8, v >> 64n, true);
    }
    return out;
  }

  /** `size` bytes each → elements (the package's field.decode); RangeError for a length or value out of the field. */
  decode(bytes: Uint8Array): bigint[] {
    const size = this.size;
    if (bytes.length % size !== 0) throw new RangeError(`could not decode: ${bytes.length} bytes is not a multiple of ${size}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const out = new Array<bigint>(bytes.length / size);
    const q = this.modulus;
    for (let i = 0; i < out.length; i++) {
      const low = view.getBigUint64(size * i, true);
      const v = size === 16 ? low | (view.getBigUint64(size * i + 8, true) << 64n) : low;
      if (v >= q) throw new RangeError('decoded an element that is not in the field');
      out[i] = v;
    }
    return out;
  }

  /** Is the element whose 32-bit words start at word `at` of `words` (little-endian) ≥ q? Compared from the top word. */
  outOfField(words: { [i: number]: number }, at: number): boolean {
    const qw = this.modulusWords;
    for (let w = this.words - 1; w >= 0; w--) {
      const v = words[at + w]!;
      if (v !== qw[w]) return v > qw[w]!;
    }
    return true; // = q
  }

  /** Is every element of the encoding < q (what decode checks, without decoding)? RangeError for a length that is not whole elements. */
  allInField(bytes: Uint8Array): boolean {
    const nw = this.words;
    if (bytes.length % this.size !== 0) throw new RangeError(`could not decode: ${bytes.length} bytes is not a multiple of ${this.size}`);
    const words = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Uint32Array(bytes.slice().buffer);
    const top = nw - 1;
    const qTop = this.modulusWords[top]!;
    // only an element whose top word is ≥ q's can be out of the field
    for (let at = 0; at < words.length; at += nw) if (words[at + top]! >= qTop && this.outOfField(words, at)) return false;
    return true;
  }

  /**
   * XofTurboShake128.expandIntoVec(field, seed, dst, binder, length), encoded: the XOF's bytes themselves, with the
   * candidates ≥ q skipped (probability < 2^−31 each for Field64, < 2^−66 for Field128), synchronously, in one pass.
   */
  expandBytes(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): Uint8Array {
    const size = this.size;
    const xof = xofTurboShake(seed, dst, binder);
    let out = xof.xof(size * length);
    const words = (bytes: Uint8Array) => new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4); // the XOF's output is a fresh, aligned array
    let kept = 0;
    const first = words(out);
    for (let at = 0; at < first.length; at += this.words) if (!this.outOfField(first, at)) kept++;
    if (kept === length) return out;
    // rare: keep the valid candidates in order, then read more
    const all = new Uint8Array(size * length);
    let n = 0;
    while (n < length) {
      const w = words(out);
      for (let at = 0; at < w.length && n < length; at += this.words)
        if (!this.outOfField(w, at)) {
          all.set(out.subarray(4 * at, 4 * at + size), size * n);
          n++;
        }
      if (n < length) out = xof.xof(size * (length - n));
    }
    return all;
  }

  /** XofTurboShake128.expandIntoVec(field, seed, dst, binder, length), synchronously and in one pass. */
  expand(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): bigint[] {
    return this.decode(this.expandBytes(seed, dst, binder, length));
  }

  /**
   * (a_i − b_i) mod q for i < length, encoded, with b given encoded: word by word, without BigInt, when a_i < 2^32
   * (the device's entries y_i); BigInt otherwise.
   */
  subEncoded(a: readonly bigint[], b: Uint8Array, length: number): Uint8Array {
    const size = this.size;
    const nw = this.words;
    const qw = this.modulusWords;
    const q = this.modulus;
    const out = new Uint8Array(size * length);
    const bv = new DataView(b.buffer, b.byteOffset, b.length);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < length; i++) {
      const ai = a[i]!;
      const at = size * i;
      if (ai >= 4294967296n) {
        const low = bv.getBigUint64(at, true);
        const bi = size === 16 ? low | (bv.getBigUint64(at + 8, true) << 64n) : low;
        const v = ai - bi;
        const r = v < 0n ? v + q : v;
        ov.setBigUint64(at, r & MASK64, true);
        if (size === 16) ov.setBigUint64(at + 8, r >> 64n, true);
        continue;
      }
      const y = Number(ai);
      const b0 = bv.getUint32(at, true);
      let high = 0;
      for (let w = 1; w < nw; w++) high |= bv.getUint32(at + 4 * w, true);
      if (b0 <= y && high === 0) {
        ov.setUint32(at, y - b0, true); // y ≥ b: y − b, the other words 0
        continue;
      }
      // q − b + y (b < q, y < b): word by word with the carry in float64
      let carry = y;
      for (let w = 0; w < nw; w++) {
        const t = qw[w]! - bv.getUint32(at + 4 * w, true) + carry;
        carry = Math.floor(t / TWO32);
        ov.setUint32(at + 4 * w, t - carry * TWO32, true);
      }
    }
    return out;
  }

  /** a − b elementwise mod q. */
  sub(a: readonly bigint[], b: readonly bigint[], length = a.length): bigint[] {
    const q = this.modulus;
    const out = new Array<bigint>(length);
    for (let i = 0; i < length; i++) {
      const v = a[i]! - b[i]!;
      out[i] = v < 0n ? v + q : v;
    }
    return out;
  }
}

/**
 * Σ of encoded vectors mod q, summed as 32-bit limbs in float64 (exact up to 2^21 vectors: each limb's sum stays
 * below 2^53) and reduced once at the end: an aggregator's fold of its output shares without a BigInt per entry per
 * share (the package's aggregate and stop 36's fold made one per addition). The same sum as the BigInt one
 * (field128.test.ts, field64.test.ts).
 */
export class FieldSum {
  private readonly limbs: Float64Array;
  private count = 0;

  constructor(
    readonly bytes: FieldBytes,
    readonly length: number,
  ) {
    this.limbs = new Float64Array(bytes.words * length);
  }

  /** Bytes of one encoded vector of this length. */
  get encodedLength(): number {
    return this.bytes.size * this.length;
  }

  /** Adds one encoded vector; RangeError for a wrong length or an element not in the field (as decode). */
  add(encoded: Uint8Array): void {
    const { size, words: nw } = this.bytes;
    if (encoded.length !== size * this.length) throw new RangeError(`an encoded vector has ${encoded.length / size} entries, not ${this.length}`);
    if (++this.count > 2 ** 21) throw new RangeError('a FieldSum adds at most 2^21 vectors');
    const words =
      encoded.byteOffset % 4 === 0 ? new Uint32Array(encoded.buffer, encoded.byteOffset, nw * this.length) : new Uint32Array(encoded.slice().buffer);
    const top = nw - 1;
    const qTop = this.bytes.modulusWords[top]!;
    // only an element whose top word is ≥ q's can be out of the field
    for (let at = 0; at < words.length; at += nw)
      if (words[at + top]! >= qTop && this.bytes.outOfField(words, at)) throw new RangeError('decoded an element that is not in the field');
    const limbs = this.limbs;
    for (let i = 0; i < words.length; i++) limbs[i]! += words[i]!;
  }

  /** The sum mod q, encoded. */
  finish(): Uint8Array {
    const { size, words: nw, modulus: q } = this.bytes;
    const out = new Uint8Array(size * this.length);
    const view = new DataView(out.buffer);
    const l = this.limbs;
    for (let i = 0; i < this.length; i++) {
      let v = 0n;
      for (let w = nw - 1; w >= 0; w--) v = (v << 32n) + BigInt(l[nw * i + w]!);
      v %= q;
      view.setBigUint64(size * i, v & MASK64, true);
      if (size === 16) view.setBigUint64(size * i + 8, v >> 64n, true);
    }
    return out;
  }
}

export const FIELD128_BYTES = new FieldBytes(new Field128());
export const FIELD64_BYTES = new FieldBytes(new Field64());
