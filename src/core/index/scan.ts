/**
 * Stage one's inner loop, shared by both code kinds: every item's approximate score is a sum of
 * table lookups, one per code byte, scaled and shifted per item:
 *
 *   out[i] = scale[i] · Σ_b table[b·256 + codes[i·width + b]] + bias[i]
 *
 * Product quantisation: byte b is the centroid of subspace b, the table holds query·centroid.
 * Sign codes: byte b holds 8 signs of the rotated vector, the table holds ±query over those 8 (the
 * float query against the bits, "asymmetric"), scale[i] is the row's least-squares sign magnitude.
 * Plain typed arrays; the loop is unrolled by four bytes so four independent sums run at once.
 */
export const TABLE_SIZE = 256;

export function scanTables(codes: Uint8Array, width: number, tables: Float32Array, out: Float32Array, scale?: Float32Array, bias?: Float32Array): Float32Array {
  if (tables.length !== width * TABLE_SIZE) throw new RangeError(`tables hold ${tables.length} values, expected ${width} × ${TABLE_SIZE}`);
  const count = out.length;
  if (codes.length < count * width) throw new RangeError(`${codes.length} code bytes cannot hold ${count} items of ${width}`);
  if (width % 4 === 0 && codes.byteOffset % 4 === 0) return scanWords(codes, width, tables, out, scale, bias);
  const unrolled = width - (width % 4);
  for (let i = 0, at = 0; i < count; i++, at += width) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let b = 0;
    for (; b < unrolled; b += 4) {
      s0 += tables[(b << 8) + codes[at + b]!]!;
      s1 += tables[((b + 1) << 8) + codes[at + b + 1]!]!;
      s2 += tables[((b + 2) << 8) + codes[at + b + 2]!]!;
      s3 += tables[((b + 3) << 8) + codes[at + b + 3]!]!;
    }
    for (; b < width; b++) s0 += tables[(b << 8) + codes[at + b]!]!;
    const sum = s0 + s1 + (s2 + s3);
    out[i] = (scale ? scale[i]! * sum : sum) + (bias ? bias[i]! : 0);
  }
  return out;
}

/**
 * scanTables for widths that are a multiple of 4 on 4-byte-aligned codes: four code bytes per 32-bit
 * read, a fifth of the loads; the same sums in the same order, so the same results to the bit.
 * (Little-endian byte order inside a word, as every platform a browser runs on.)
 */
function scanWords(codes: Uint8Array, width: number, tables: Float32Array, out: Float32Array, scale?: Float32Array, bias?: Float32Array): Float32Array {
  const words = new Uint32Array(codes.buffer, codes.byteOffset, (out.length * width) >> 2);
  const per = width >> 2;
  const count = out.length;
  for (let i = 0, at = 0; i < count; i++) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let w = 0; w < per; w++, at++) {
      const x = words[at]!;
      const base = w << 10;
      s0 += tables[base + (x & 255)]!;
      s1 += tables[base + 256 + ((x >>> 8) & 255)]!;
      s2 += tables[base + 512 + ((x >>> 16) & 255)]!;
      s3 += tables[base + 768 + (x >>> 24)]!;
    }
    const sum = s0 + s1 + (s2 + s3);
    out[i] = (scale ? scale[i]! * sum : sum) + (bias ? bias[i]! : 0);
  }
  return out;
}
