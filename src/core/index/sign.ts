/**
 * 1-bit sign codes of a rotated vector. The vector (zero-padded to `bits`, a power of two) goes
 * through a seeded random rotation R, three rounds of random sign flips and a normalised
 * Walsh–Hadamard transform (O(bits·log bits) per row, where a dense rotation would cost bits² and take
 * minutes at a million rows), which spreads its energy evenly over the coordinates. R is orthonormal,
 * so u·v = (Ru)·(Rv); the item keeps only sign(Rv) and one magnitude α = mean |Rv_j| (the
 * least-squares fit of Rv by α·sign), so
 *
 *   u·v ≈ α · Σ_j (Ru)_j · sign((Rv)_j)      (asymmetric: the float query against the bits)
 *
 * a table lookup per byte (./scan.ts). More bits than dimensions (e.g. 128 bits for a 32-d model
 * vector) keep more of the angle: the padding dimensions receive energy after the rotation.
 * The symmetric estimate, Hamming distance between sign(Ru) and sign(Rv), is kept for comparison:
 * u·v ≈ |u|·|v|·cos(π·hamming/bits).
 */
import { gaussianSource, seededUniform } from '../random';
import type { RowSource } from './rows';
import { scanTables, TABLE_SIZE } from './scan';

const ROUNDS = 3;

export interface SignCodebook {
  dim: number;
  /** Bits per item, a power of two ≥ dim and ≥ 8. */
  bits: number;
  /** ROUNDS × bits random ±1 (the diagonal sign flips of R). */
  flips: Int8Array;
}

export interface SignCodes {
  /** count × bits/8 bytes, bit t of byte b = sign of coordinate 8b + t (1: ≥ 0). */
  codes: Uint8Array;
  /** α per item: mean |Rv_j|. */
  scales: Float32Array;
  /** |v| per item (the Hamming estimate only). */
  norms: Float32Array;
}

export function signCodebook(dim: number, bits: number, seed = 1): SignCodebook {
  if (!(bits >= 8 && (bits & (bits - 1)) === 0)) throw new RangeError(`bits must be a power of two ≥ 8, got ${bits}`);
  if (bits < dim) throw new RangeError(`${bits} bits cannot hold a rotation of ${dim} dimensions`);
  const normal = gaussianSource(seededUniform(seed));
  return { dim, bits, flips: Int8Array.from({ length: ROUNDS * bits }, () => (normal() >= 0 ? 1 : -1)) };
}

/** In-place normalised fast Walsh–Hadamard transform (length a power of two). */
function hadamard(x: Float32Array): void {
  const n = x.length;
  for (let h = 1; h < n; h <<= 1) {
    for (let i = 0; i < n; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const a = x[j]!;
        const b = x[j + h]!;
        x[j] = a + b;
        x[j + h] = a - b;
      }
    }
  }
  const norm = 1 / Math.sqrt(n);
  for (let i = 0; i < n; i++) x[i] = x[i]! * norm;
}

/** R·[v; 0] into `out` (length bits). */
export function rotate(codebook: SignCodebook, vector: Float32Array, out = new Float32Array(codebook.bits)): Float32Array {
  if (vector.length !== codebook.dim) throw new RangeError(`the vector has ${vector.length} values, the codebook ${codebook.dim}`);
  out.fill(0);
  out.set(vector);
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < codebook.bits; j++) out[j] = out[j]! * codebook.flips[round * codebook.bits + j]!;
    hadamard(out);
  }
  return out;
}

export function encodeSign(codebook: SignCodebook, source: RowSource, from = 0, to = source.count): SignCodes {
  if (source.dim !== codebook.dim) throw new RangeError(`the codebook codes ${codebook.dim} dimensions, the rows have ${source.dim}`);
  const width = codebook.bits / 8;
  const count = to - from;
  const codes = new Uint8Array(count * width);
  const scales = new Float32Array(count);
  const norms = new Float32Array(count);
  const row = new Float32Array(codebook.dim);
  const rotated = new Float32Array(codebook.bits);
  for (let i = 0; i < count; i++) {
    source.row(from + i, row);
    rotate(codebook, row, rotated);
    let magnitude = 0;
    let square = 0;
    for (let j = 0; j < codebook.bits; j++) {
      const y = rotated[j]!;
      magnitude += Math.abs(y);
      square += y * y;
      if (y >= 0) codes[i * width + (j >> 3)]! |= 1 << (j & 7);
    }
    scales[i] = magnitude / codebook.bits;
    norms[i] = Math.sqrt(square);
  }
  return { codes, scales, norms };
}

/** The vector an item's code stands for, in the rotated space: α·sign (length bits). */
export function decodeSignRotated(codebook: SignCodebook, codes: SignCodes, item: number, out = new Float32Array(codebook.bits)): Float32Array {
  const width = codebook.bits / 8;
  const alpha = codes.scales[item]!;
  for (let j = 0; j < codebook.bits; j++) out[j] = (codes.codes[item * width + (j >> 3)]! >> (j & 7)) & 1 ? alpha : -alpha;
  return out;
}

/** Per byte b and byte value c: Σ_t ±(Ru)_{8b+t}, + where bit t of c is set. */
export function signTables(codebook: SignCodebook, query: Float32Array): Float32Array {
  const rotated = rotate(codebook, query);
  const width = codebook.bits / 8;
  const tables = new Float32Array(width * TABLE_SIZE);
  for (let b = 0; b < width; b++) {
    let allMinus = 0;
    for (let t = 0; t < 8; t++) allMinus -= rotated[8 * b + t]!;
    tables[b * TABLE_SIZE] = allMinus;
    // Each value from the one with its lowest set bit cleared: that bit's coordinate turns from − to +.
    for (let c = 1; c < TABLE_SIZE; c++) {
      const low = c & -c;
      tables[b * TABLE_SIZE + c] = tables[b * TABLE_SIZE + (c ^ low)]! + 2 * rotated[8 * b + 31 - Math.clz32(low)]!;
    }
  }
  return tables;
}

/** Asymmetric estimate of u·v_i (+ b_i) for every item. */
export function signScan(codebook: SignCodebook, codes: SignCodes, query: Float32Array, out: Float32Array, bias?: Float32Array): Float32Array {
  return scanTables(codes.codes, codebook.bits / 8, signTables(codebook, query), out, codes.scales, bias);
}

/** Set bits of a 32-bit word (the classic SWAR count). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Symmetric estimate from Hamming distances: |u|·|v_i|·cos(π·h/bits) (+ b_i). The codes are read as
 * 32-bit words (bits ≥ 32, and the code array aligned, as encodeSign allocates it).
 */
export function hammingScan(codebook: SignCodebook, codes: SignCodes, query: Float32Array, out: Float32Array, bias?: Float32Array): Float32Array {
  if (codebook.bits < 32) throw new RangeError('the Hamming scan reads 32-bit words: use ≥ 32 bits');
  const words = codebook.bits / 32;
  const single = encodeSign(codebook, { count: 1, dim: codebook.dim, row: (_, target) => target.set(query) });
  const queryWords = new Uint32Array(single.codes.buffer, 0, words);
  const queryNorm = single.norms[0]!;
  const items = new Uint32Array(codes.codes.buffer, codes.codes.byteOffset, codes.codes.byteLength / 4);
  const cosines = Float32Array.from({ length: codebook.bits + 1 }, (_, h) => queryNorm * Math.cos((Math.PI * h) / codebook.bits));
  for (let i = 0; i < out.length; i++) {
    let distance = 0;
    for (let w = 0; w < words; w++) distance += popcount32(items[i * words + w]! ^ queryWords[w]!);
    out[i] = codes.norms[i]! * cosines[distance]! + (bias ? bias[i]! : 0);
  }
  return out;
}

export interface CascadeOptions {
  /** Leading bits of each code read by the coarse pass (a multiple of 32, ≤ bits). */
  coarseBits: number;
  /** Items the coarse pass keeps for the asymmetric estimate (at least; ties at the threshold all stay). */
  keep: number;
}

/**
 * A cheaper stage one for large catalogs: a coarse pass ranks every item by the Hamming distance of
 * the first `coarseBits` bits only (after the rotation any subset of coordinates is itself a sign
 * code of the vector), keeps the ~`keep` nearest by a histogram of the distances (integers, so no
 * heap), and only those get the full asymmetric estimate; every other item's score is −Infinity
 * (which topK skips). For unit vectors without biases (the text path); the coarse pass ignores them.
 */
export function signCascadeScan(
  codebook: SignCodebook,
  codes: SignCodes,
  query: Float32Array,
  out: Float32Array,
  options: CascadeOptions,
  bias?: Float32Array,
): Float32Array {
  const { coarseBits, keep } = options;
  if (!(coarseBits >= 32 && coarseBits % 32 === 0 && coarseBits <= codebook.bits))
    throw new RangeError(`coarseBits must be a multiple of 32 up to ${codebook.bits}, got ${coarseBits}`);
  const count = out.length;
  const width = codebook.bits / 8;
  const wordsPerItem = codebook.bits / 32;
  const coarseWords = coarseBits / 32;
  const rotated = rotate(codebook, query);
  const queryWords = new Uint32Array(coarseWords);
  for (let j = 0; j < coarseBits; j++) if (rotated[j]! >= 0) queryWords[j >> 5]! |= 1 << (j & 31);
  const items = new Uint32Array(codes.codes.buffer, codes.codes.byteOffset, count * wordsPerItem);
  const distance = new Uint16Array(count);
  const histogram = new Int32Array(coarseBits + 1);
  for (let i = 0, at = 0; i < count; i++, at += wordsPerItem) {
    let d = 0;
    for (let w = 0; w < coarseWords; w++) d += popcount32(items[at + w]! ^ queryWords[w]!);
    distance[i] = d;
    histogram[d]!++;
  }
  let threshold = 0;
  for (let kept = histogram[0]!; kept < keep && threshold < coarseBits;) kept += histogram[++threshold]!;
  const tables = signTables(codebook, query);
  out.fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < count; i++) {
    if (distance[i]! > threshold) continue;
    let sum = 0;
    for (let b = 0, at = i * width; b < width; b++) sum += tables[(b << 8) + codes.codes[at + b]!]!;
    out[i] = codes.scales[i]! * sum + (bias ? bias[i]! : 0);
  }
  return out;
}
