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
import { turboshake128 } from '@noble/hashes/sha3-addons.js';

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

/** XofTurboShake128.expandIntoVec(Field128, seed, dst, binder, length), synchronously and in one pass. */
export function expand128(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): bigint[] {
  const xof = turboshake128.create({ D: 1 }).update(Uint8Array.of(dst.length)).update(dst).update(seed).update(binder);
  const out = new Array<bigint>(length);
  let i = 0;
  while (i < length) {
    // candidates ≥ q have probability < 2^−66: read what is left in one block, then more if any were skipped
    const bytes = xof.xof(16 * (length - i));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let at = 0; at < bytes.length; at += 16) {
      const v = view.getBigUint64(at, true) | (view.getBigUint64(at + 8, true) << 64n);
      if (v < Q) out[i++] = v;
    }
  }
  return out;
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
