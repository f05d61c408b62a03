/**
 * Field128's fast byte conversions (field-bytes.ts, generic over the field since stop 38) under the names the
 * Field128 path and the services use: little-endian 16-byte elements and the XOF's expansion, byte for byte the
 * package's (field128.test.ts checks them against it).
 */
import { deriveSeed, FIELD128_BYTES, FieldSum } from './field-bytes';

export const FIELD128 = FIELD128_BYTES.field;

/** Field128 elements → 16 bytes each, little-endian (the package's field.encode). */
export const encode128 = (values: readonly bigint[], start = 0, end = values.length): Uint8Array => FIELD128_BYTES.encode(values, start, end);

/** 16 bytes each → Field128 elements (the package's field.decode); RangeError for a length or value out of the field. */
export const decode128 = (bytes: Uint8Array): bigint[] => FIELD128_BYTES.decode(bytes);

/** XofTurboShake128.deriveSeed(seed, dst, binder) (16 bytes): field-bytes.ts deriveSeed. */
export const deriveSeed128 = deriveSeed;

/** XofTurboShake128.expandIntoVec(Field128, seed, dst, binder, length), encoded (16 bytes an element). */
export const expandBytes128 = (seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): Uint8Array =>
  FIELD128_BYTES.expandBytes(seed, dst, binder, length);

/** XofTurboShake128.expandIntoVec(Field128, seed, dst, binder, length), synchronously and in one pass. */
export const expand128 = (seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): bigint[] => FIELD128_BYTES.expand(seed, dst, binder, length);

/** (a_i − b_i) mod q for i < length, encoded (16 bytes each), with b given encoded (field-bytes.ts subEncoded). */
export const subEncoded128 = (a: readonly bigint[], b: Uint8Array, length: number): Uint8Array => FIELD128_BYTES.subEncoded(a, b, length);

/** a − b elementwise in Field128. */
export const sub128 = (a: readonly bigint[], b: readonly bigint[], length = a.length): bigint[] => FIELD128_BYTES.sub(a, b, length);

/** Σ of encoded Field128 vectors mod q (field-bytes.ts FieldSum): an aggregator's fold of its output shares. */
export class Sum128 extends FieldSum {
  constructor(length: number) {
    super(FIELD128_BYTES, length);
  }
}
