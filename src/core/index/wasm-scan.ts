/**
 * Stage one's two hot loops as a small WebAssembly module (issue 21: the query path at 1M items),
 * assembled here from its instructions, so no compiler and no binary file are needed at build time.
 * (wabt's wat2wasm would assemble the same text, but it is not a dependency; the module is two
 * kernels, the first also unrolled for 1–4 chunks in ./wasm-hamming.ts, and its bytes are checked by
 * WebAssembly.validate and by tests against the JS loops.)
 *
 *   hamming(codes, stride, chunks, query, n, dist, hist)
 *     dist[i] (u16) = popcount(code_i[0 … 16·chunks) XOR query[0 … 16·chunks)), code_i at codes + i·stride;
 *     hist[d] (i32) += 1 for each item's distance d. SIMD: v128.xor, i8x16.popcnt, i8x16.add, 16 bytes
 *     at a time (chunks ≤ 31: the per-lane u8 sums hold 31 × 8).
 *   scan(codes, words, tables, n, scale, bias, dist, threshold, out)
 *     out[i] (f32) = scale_i · Σ_b tables[b·256 + code_ib] + bias_i, reading four code bytes per 32-bit
 *     load into four float64 sums, the same sums in the same order as scan.ts's scanWords, so the same
 *     result to the bit. scale, bias, dist: 0 for none; with dist, an item whose dist > threshold gets
 *     −Infinity (the cascade's second pass). Scalar: WebAssembly has no gather, so SIMD cannot do the
 *     table lookups; what it saves over JS is bounds checks and the Float32Array element conversions.
 *
 * Memory is imported (env.memory), so the caller lays out codes, tables and outputs in it once.
 */

import {
  BLOCK,
  BR,
  BR_IF,
  bump,
  countInto,
  nextWhileBelow,
  ELSE,
  element,
  END,
  forEachBelow,
  F32_DEMOTE_F64,
  F32_LOAD,
  F32_STORE,
  f32c,
  F64,
  F64_ADD,
  F64_MUL,
  F64_PROMOTE_F32,
  f64c,
  get,
  I16X8_EXTADD_U,
  I32,
  I32_ADD,
  I32_AND,
  I32_GT_U,
  I32_LOAD,
  I32_LOAD16_U,
  I32_LT_U,
  I32_MUL,
  I32_SHL,
  I32_SHR_U,
  I32_STORE16,
  i32c,
  I32X4_EXTADD_U,
  I32X4_LANE,
  I8X16_ADD,
  I8X16_POPCNT,
  IF,
  IF_F64,
  LOOP,
  name,
  section,
  set,
  uleb,
  V128,
  V128_CONST_ZERO,
  V128_LOAD,
  V128_XOR,
  vec,
} from './wasm-asm';
import { collectBody, hammingUnrolledBody, UNROLLED_CHUNKS } from './wasm-hamming';

function hammingBody(): number[] {
  // params: 0 codes, 1 stride, 2 chunks, 3 query, 4 n, 5 dist, 6 hist
  // locals: 7 i, 8 c, 9 p, 10 q, 11 row, 12 d, 13 h (i32); 14 acc (v128)
  const [codes, stride, chunks, query, n, dist, hist, i, c, p, q, row, d, h, acc] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const code = [
    ...get(codes),
    ...set(row),
    ...forEachBelow(n),
    ...V128_CONST_ZERO,
    ...set(acc),
    ...get(row),
    ...set(p),
    ...get(query),
    ...set(q),
    ...i32c(0),
    ...set(c),
    ...LOOP,
    ...get(acc),
    ...get(p),
    ...V128_LOAD,
    ...get(q),
    ...V128_LOAD,
    ...V128_XOR,
    ...I8X16_POPCNT,
    ...I8X16_ADD,
    ...set(acc),
    ...bump(p, i32c(16)),
    ...bump(q, i32c(16)),
    ...bump(c, i32c(1)),
    ...get(c),
    ...get(chunks),
    I32_LT_U,
    ...BR_IF(0),
    ...END,
    ...get(acc),
    ...I16X8_EXTADD_U,
    ...I32X4_EXTADD_U,
    ...set(acc),
    ...get(acc),
    ...I32X4_LANE(0),
    ...get(acc),
    ...I32X4_LANE(1),
    I32_ADD,
    ...get(acc),
    ...I32X4_LANE(2),
    ...get(acc),
    ...I32X4_LANE(3),
    I32_ADD,
    I32_ADD,
    ...set(d),
    // dist[i] = d
    ...element(dist, i, 1),
    ...get(d),
    ...I32_STORE16,
    // hist[d] += 1
    ...countInto(hist, d, h),
    ...bump(row, get(stride)),
    ...nextWhileBelow(i, n),
  ];
  return [
    ...vec([
      [...uleb(7), I32],
      [...uleb(1), V128],
    ]),
    ...code,
    ...END,
  ];
}

function scanBody(): number[] {
  // params: 0 codes, 1 words, 2 tables, 3 n, 4 scale, 5 bias, 6 dist, 7 threshold, 8 out
  // locals: 9 i, 10 p, 11 t, 12 w, 13 x (i32); 14 s0, 15 s1, 16 s2, 17 s3, 18 sum (f64)
  const [codes, words, tables, n, scale, bias, dist, threshold, out, i, p, t, w, x, s0, s1, s2, s3, sum] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
  ];
  const at4 = (base: number) => [...get(base), ...get(i), ...i32c(2), I32_SHL, I32_ADD];
  // s += tables[t + offset + ((x >>> shift) & 255)]
  const lookup = (s: number, shift: number, offset: number) => [
    ...get(s),
    ...get(t),
    ...get(x),
    ...(shift ? [...i32c(shift), I32_SHR_U] : []),
    ...(shift < 24 ? [...i32c(255), I32_AND] : []),
    ...i32c(2),
    I32_SHL,
    I32_ADD,
    ...F32_LOAD(offset),
    F64_PROMOTE_F32,
    F64_ADD,
    ...set(s),
  ];
  const code = [
    ...forEachBelow(n),
    ...BLOCK, // skip: an item the cascade's coarse pass dropped
    ...get(dist),
    ...IF,
    ...element(dist, i, 1),
    ...I32_LOAD16_U,
    ...get(threshold),
    I32_GT_U,
    ...IF,
    ...at4(out),
    ...f32c(Number.NEGATIVE_INFINITY),
    ...F32_STORE,
    ...BR(2),
    ...END,
    ...END,
    // p = codes + i · words · 4
    ...get(codes),
    ...get(i),
    ...get(words),
    ...i32c(2),
    I32_SHL,
    I32_MUL,
    I32_ADD,
    ...set(p),
    ...get(tables),
    ...set(t),
    ...f64c(0),
    ...set(s0),
    ...f64c(0),
    ...set(s1),
    ...f64c(0),
    ...set(s2),
    ...f64c(0),
    ...set(s3),
    ...i32c(0),
    ...set(w),
    ...LOOP,
    ...get(p),
    ...I32_LOAD(),
    ...set(x),
    ...lookup(s0, 0, 0),
    ...lookup(s1, 8, 1024),
    ...lookup(s2, 16, 2048),
    ...lookup(s3, 24, 3072),
    ...bump(p, i32c(4)),
    ...bump(t, i32c(4096)),
    ...bump(w, i32c(1)),
    ...get(w),
    ...get(words),
    I32_LT_U,
    ...BR_IF(0),
    ...END,
    ...get(s0),
    ...get(s1),
    F64_ADD,
    ...get(s2),
    ...get(s3),
    F64_ADD,
    F64_ADD,
    ...set(sum),
    ...get(scale),
    ...IF,
    ...at4(scale),
    ...F32_LOAD(),
    F64_PROMOTE_F32,
    ...get(sum),
    F64_MUL,
    ...set(sum),
    ...END,
    ...at4(out),
    ...get(sum),
    ...get(bias),
    ...IF_F64,
    ...at4(bias),
    ...F32_LOAD(),
    F64_PROMOTE_F32,
    ...ELSE,
    ...f64c(0),
    ...END,
    F64_ADD,
    F32_DEMOTE_F64,
    ...F32_STORE,
    ...END, // skip
    ...bump(i, i32c(1)),
    ...get(i),
    ...get(n),
    I32_LT_U,
    ...BR_IF(0),
    ...END,
    ...END,
  ];
  return [
    ...vec([
      [...uleb(5), I32],
      [...uleb(5), F64],
    ]),
    ...code,
    ...END,
  ];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const functype = (params: number) => [0x60, ...vec(new Array<number[]>(params).fill([I32])), 0x00];
  const body = (code: number[]) => [...uleb(code.length), ...code];
  const unrolled = Array.from({ length: UNROLLED_CHUNKS }, (_, j) => j + 1);
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([functype(7), functype(9), functype(6), [0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])]])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0], [1], ...unrolled.map(() => [2]), [3]])),
    ...section(
      7,
      vec([
        [...name('hamming'), 0x00, 0],
        [...name('scan'), 0x00, 1],
        ...unrolled.map((chunks, f) => [...name(`hamming${chunks}`), 0x00, 2 + f]),
        [...name('collect'), 0x00, 2 + UNROLLED_CHUNKS],
      ]),
    ),
    ...section(10, vec([body(hammingBody()), body(scanBody()), ...unrolled.map((chunks) => body(hammingUnrolledBody(chunks))), body(collectBody())])),
  ];
  return Uint8Array.from(bytes);
}

export const SCAN_WASM: Uint8Array<ArrayBuffer> = moduleBytes();

/** Whether this runtime runs the module (WebAssembly with SIMD: every current browser and Node ≥ 16.4). */
export function wasmScanSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SCAN_WASM);
}

type UnrolledHamming = (codes: number, stride: number, query: number, n: number, dist: number, hist: number) => void;

interface Kernels {
  hamming(codes: number, stride: number, chunks: number, query: number, n: number, dist: number, hist: number): void;
  /** The same for 1 … UNROLLED_CHUNKS chunks, unrolled (./wasm-hamming.ts). */
  hamming1: UnrolledHamming;
  hamming2: UnrolledHamming;
  hamming3: UnrolledHamming;
  hamming4: UnrolledHamming;
  /** The items whose u16 distance is at most `cut`, into out (i32); returns how many (./wasm-hamming.ts). */
  collect(dist: number, n: number, cut: number, out: number): number;
  scan(codes: number, words: number, tables: number, n: number, scale: number, bias: number, dist: number, threshold: number, out: number): void;
}

let compiled: WebAssembly.Module | undefined;

/**
 * One instance with its own memory, laid out once by `alloc` (16-byte aligned) before the first use:
 * growing a memory detaches every view of it, so the caller reserves all it needs up front.
 */
export class WasmArena {
  readonly memory: WebAssembly.Memory;
  readonly kernels: Kernels;
  private top = 0;

  constructor(bytes: number) {
    compiled ??= new WebAssembly.Module(SCAN_WASM);
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    this.kernels = new WebAssembly.Instance(compiled, { env: { memory: this.memory } }).exports as unknown as Kernels;
  }

  /** The Hamming kernel for `chunks` 16-byte chunks: the unrolled one where it exists, else the generic loop. */
  hamming(codes: number, stride: number, chunks: number, query: number, n: number, dist: number, hist: number): void {
    const k = this.kernels;
    if (chunks === 4) k.hamming4(codes, stride, query, n, dist, hist);
    else if (chunks === 2) k.hamming2(codes, stride, query, n, dist, hist);
    else if (chunks === 1) k.hamming1(codes, stride, query, n, dist, hist);
    else if (chunks === 3) k.hamming3(codes, stride, query, n, dist, hist);
    else k.hamming(codes, stride, chunks, query, n, dist, hist);
  }

  /** Reserves `bytes` (16-byte aligned); returns its address. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = Math.ceil((at + bytes) / 16) * 16;
    if (this.top > this.memory.buffer.byteLength) throw new RangeError(`the arena holds ${this.memory.buffer.byteLength} bytes, ${this.top} requested`);
    return at;
  }

  u8(at: number, length: number): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.memory.buffer, at, length);
  }
  u16(at: number, length: number): Uint16Array<ArrayBuffer> {
    return new Uint16Array(this.memory.buffer, at, length);
  }
  i32(at: number, length: number): Int32Array<ArrayBuffer> {
    return new Int32Array(this.memory.buffer, at, length);
  }
  f32(at: number, length: number): Float32Array<ArrayBuffer> {
    return new Float32Array(this.memory.buffer, at, length);
  }
}

/** Bytes an arena needs for `sections` (each padded to 16). */
export const arenaBytes = (...sections: number[]): number => sections.reduce((sum, size) => sum + Math.ceil(size / 16) * 16, 0);
