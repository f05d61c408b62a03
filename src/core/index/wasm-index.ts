/**
 * The CodeIndex kinds of ./two-stage.ts with stage one run by ./wasm-scan.ts's kernels instead of the
 * JS loops: the same estimates (PQ and the asymmetric sign scan: equal to the bit; the cascade: the
 * same items kept, sums within float rounding), for callers that measured it faster (docs/scale.md).
 * The codes are copied once into the module's memory; the biases are read live (copied per search when
 * they are not already in that memory), so a fine-tune that moves b_i is seen by the next search.
 */
import { pqTables, type PqCodebook } from './pq';
import { TABLE_SIZE } from './scan';
import { rotate, signTables, type CascadeOptions, type SignCodebook, type SignCodes } from './sign';
import { topK } from '../topk';
import type { CodeIndex } from './two-stage';
import { arenaBytes, WasmArena } from './wasm-scan';

interface Layout {
  arena: WasmArena;
  codesAt: number;
  tablesAt: number;
  outAt: number;
  out: Float32Array;
  biasAt: number;
  scaleAt: number;
}

function layout(
  count: number,
  width: number,
  codes: Uint8Array,
  extra: number[],
  scale: Float32Array | undefined,
  bias: Float32Array | undefined,
): Layout & { extraAt: number[] } {
  if (width % 4 !== 0) throw new RangeError(`the WASM scan reads 4 code bytes at a time: ${width} bytes per item is not a multiple of 4`);
  if (codes.length !== count * width) throw new RangeError(`${codes.length} code bytes for ${count} items of ${width}`);
  if (bias && bias.length !== count) throw new RangeError(`${bias.length} biases for ${count} items`);
  const arena = new WasmArena(arenaBytes(count * width, width * TABLE_SIZE * 4, count * 4, scale ? count * 4 : 0, bias ? count * 4 : 0, ...extra) + 64);
  const codesAt = arena.alloc(count * width);
  arena.u8(codesAt, count * width).set(codes);
  const tablesAt = arena.alloc(width * TABLE_SIZE * 4);
  const outAt = arena.alloc(count * 4);
  const scaleAt = scale ? arena.alloc(count * 4) : 0;
  if (scale) arena.f32(scaleAt, count).set(scale);
  const biasAt = bias ? arena.alloc(count * 4) : 0;
  const extraAt = extra.map((bytes) => arena.alloc(bytes));
  return { arena, codesAt, tablesAt, outAt, out: arena.f32(outAt, count), scaleAt, biasAt, extraAt };
}

/** The live biases into the arena (a caller's array is read at each search, never kept). */
function refreshBias(l: Layout, bias: Float32Array | undefined, count: number): void {
  if (bias) l.arena.f32(l.biasAt, count).set(bias);
}

function finish(l: Layout, out: Float32Array): void {
  if (out !== l.out) out.set(l.out);
}

export function wasmPqIndex(codebook: PqCodebook, codes: Uint8Array, bias?: Float32Array): CodeIndex {
  const width = codebook.subspaces;
  const count = codes.length / width;
  const l = layout(count, width, codes, [], undefined, bias);
  const tables = l.arena.f32(l.tablesAt, width * TABLE_SIZE);
  return {
    kind: 'pq',
    count,
    bytes: codes.byteLength + codebook.values.byteLength + (bias?.byteLength ?? 0),
    scratch: l.out,
    stageOne(query, out) {
      pqTables(codebook, query, tables);
      refreshBias(l, bias, count);
      l.arena.kernels.scan(l.codesAt, width / 4, l.tablesAt, count, 0, l.biasAt, 0, 0, l.outAt);
      finish(l, out);
    },
  };
}

/** Asymmetric sign scan (signScan), or with `cascade` the coarse Hamming pass first (signCascadeScan). */
export function wasmSignIndex(codebook: SignCodebook, codes: SignCodes, bias?: Float32Array, cascade?: CascadeOptions): CodeIndex {
  const width = codebook.bits / 8;
  const count = codes.scales.length;
  const coarseBits = cascade?.coarseBits ?? 0;
  if (cascade && !(coarseBits >= 128 && coarseBits % 128 === 0 && coarseBits <= codebook.bits && coarseBits / 128 <= 31)) {
    throw new RangeError(
      `the WASM cascade reads 128 bits at a time: coarseBits must be a multiple of 128 up to ${Math.min(codebook.bits, 31 * 128)}, got ${coarseBits}`,
    );
  }
  const l = layout(count, width, codes.codes, cascade ? [count * 2, (coarseBits + 1) * 4, coarseBits / 8] : [], codes.scales, bias);
  const tables = l.arena.f32(l.tablesAt, width * TABLE_SIZE);
  const [distAt = 0, histAt = 0, queryAt = 0] = l.extraAt;
  const hist = cascade ? l.arena.i32(histAt, coarseBits + 1) : undefined;
  const queryBits = cascade ? l.arena.u8(queryAt, coarseBits / 8) : undefined;
  return {
    kind: cascade ? 'cascade' : 'sign',
    count,
    bytes: codes.codes.byteLength + codes.scales.byteLength + (bias?.byteLength ?? 0),
    scratch: l.out,
    stageOne(query, out) {
      refreshBias(l, bias, count);
      let threshold = 0;
      if (cascade && hist && queryBits) {
        const rotated = rotate(codebook, query);
        queryBits.fill(0);
        for (let j = 0; j < coarseBits; j++) if (rotated[j]! >= 0) queryBits[j >> 3]! |= 1 << (j & 7);
        hist.fill(0);
        l.arena.hamming(l.codesAt, width, coarseBits / 128, queryAt, count, distAt, histAt);
        for (let kept = hist[0]!; kept < cascade.keep && threshold < coarseBits;) kept += hist[++threshold]!;
      }
      tables.set(signTables(codebook, query));
      l.arena.kernels.scan(l.codesAt, width / 4, l.tablesAt, count, l.scaleAt, l.biasAt, cascade ? distAt : 0, threshold, l.outAt);
      finish(l, out);
    },
  };
}

/**
 * Symmetric Hamming estimate (hammingScan): |u|·|v_i|·cos(π·h/bits) + b_i, the distances by SIMD popcount.
 * With `keep`, only the ~keep nearest by distance (the histogram's threshold, ties at it all kept) get
 * a score and every other item −Infinity, which the candidate heap skips at once: for unit vectors
 * without biases (the text path), where the distance alone orders the estimate. With `keep` the index
 * also `select`s: it scores the kept items alone and takes the best among them, with no pass in JS
 * over every item's score and no heap over a million (docs/scale.md, "Stop 36: the query's time").
 */
export function wasmHammingIndex(codebook: SignCodebook, codes: SignCodes, bias?: Float32Array, keep?: number): CodeIndex {
  const { bits } = codebook;
  const width = bits / 8;
  const count = codes.scales.length;
  if (bits % 128 !== 0 || bits / 128 > 31) throw new RangeError(`the WASM Hamming scan reads 128 bits at a time: ${bits} bits`);
  // The kept items' indices (select): room for 4 × keep, ties at the threshold included; more fall back to a JS pass.
  const room = keep === undefined ? 0 : Math.min(count, 4 * keep);
  const l = layout(count, width, codes.codes, [count * 2, (bits + 1) * 4, width, room * 4], undefined, undefined);
  const [distAt = 0, histAt = 0, queryAt = 0, listAt = 0] = l.extraAt;
  const list = l.arena.i32(listAt, room);
  const dist = l.arena.u16(distAt, count);
  const hist = l.arena.i32(histAt, bits + 1);
  const queryBits = l.arena.u8(queryAt, width);
  const norms = codes.norms;
  /** The largest distance whose items, with all nearer ones, number at least `want` (all of them: bits). */
  const threshold = (want: number): number => {
    let at = 0;
    for (let kept = hist[0]!; kept < want && at < bits;) kept += hist[++at]!;
    return at;
  };
  /** The distances into `dist` and `hist`; returns cos(π·h/bits)·|u| by distance h. */
  const distances = (query: Float32Array): Float32Array => {
    const rotated = rotate(codebook, query);
    let square = 0;
    queryBits.fill(0);
    for (let j = 0; j < bits; j++) {
      const y = rotated[j]!;
      square += y * y;
      if (y >= 0) queryBits[j >> 3]! |= 1 << (j & 7);
    }
    const queryNorm = Math.fround(Math.sqrt(square));
    hist.fill(0);
    l.arena.hamming(l.codesAt, width, bits / 128, queryAt, count, distAt, histAt);
    return Float32Array.from({ length: bits + 1 }, (_, h) => queryNorm * Math.cos((Math.PI * h) / bits));
  };
  let kept = new Int32Array(0);
  let keptScores = new Float32Array(0);
  return {
    kind: 'hamming',
    count,
    bytes: codes.codes.byteLength + codes.norms.byteLength + (bias?.byteLength ?? 0),
    scratch: l.out,
    stageOne(query, out) {
      const cosines = distances(query);
      const cut = keep === undefined ? bits : threshold(keep);
      for (let i = 0; i < count; i++) {
        const d = dist[i]!;
        out[i] = d > cut ? Number.NEGATIVE_INFINITY : norms[i]! * cosines[d]! + (bias ? bias[i]! : 0);
      }
    },
    ...(keep === undefined
      ? {}
      : {
          select(query: Float32Array, n: number, exclude?: (index: number) => boolean): number[] {
            const cosines = distances(query);
            const cut = threshold(keep);
            let m = 0;
            for (let d = 0; d <= cut; d++) m += hist[d]!;
            if (kept.length < m) {
              kept = new Int32Array(m);
              keptScores = new Float32Array(m);
            }
            // The kept items in index order, so the heap's ties (lower position first) are by item index:
            // found eight distances at a time by the module's collect, or by a pass here when more than its room.
            if (m <= room) {
              l.arena.kernels.collect(distAt, count, cut, listAt);
              kept.set(list.subarray(0, m));
            } else {
              for (let i = 0, j = 0; j < m; i++) if (dist[i]! <= cut) kept[j++] = i;
            }
            for (let j = 0; j < m; j++) {
              const i = kept[j]!;
              keptScores[j] = norms[i]! * cosines[dist[i]!]! + (bias ? bias[i]! : 0);
            }
            const ids = kept;
            const best = topK(keptScores.subarray(0, m), n, exclude ? (j) => exclude(ids[j]!) : undefined);
            return best.map((j) => ids[j]!);
          },
        }),
  };
}
