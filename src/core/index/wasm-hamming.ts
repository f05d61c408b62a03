/**
 * The Hamming kernel of ./wasm-scan.ts unrolled for a fixed number of 16-byte chunks (1 to 4: the text
 * index's 512 bits, or the leading 128–256 bits of the cascade's coarse pass). The query's chunks stay
 * in v128 locals and each item's chunks are read at constant offsets, so an item costs its loads, XORs
 * and popcounts and one horizontal sum, without the generic loop's per-chunk pointer and counter
 * updates (512 bits over 1M items: 6.2 → 5.0 ms CPU, docs/scale.md "Stop 36: the query's time").
 * Same results as the generic `hamming` (tested):
 *
 *   hammingN(codes, stride, query, n, dist, hist)
 *     dist[i] (u16) = popcount(code_i[0 … 16·N) XOR query[0 … 16·N)), code_i at codes + i·stride;
 *     hist[d] (i32) += 1 for each item's distance d.
 *
 * And the pass after it, `collect`, which finds the items at or under the histogram's threshold:
 *   collect(dist, n, cut, out) → m
 *     out[0 … m) (i32) = every i < n with dist[i] ≤ cut, in order. Eight distances are compared at once
 *     (i16x8.le_u); a group with none under the cut costs that one comparison. dist must be readable
 *     up to a multiple of 8 items (the arena pads every section to 16 bytes).
 */
import {
  BLOCK,
  BR,
  BR_IF,
  bump,
  countInto,
  nextWhileBelow,
  element,
  END,
  forEachBelow,
  get,
  I16X8_EXTADD_U,
  I32,
  I32_ADD,
  I32_AND,
  I32_EQZ,
  I32_LE_U,
  I32_LOAD16_U,
  I32_LT_U,
  I32_STORE,
  I32_STORE16,
  i32c,
  I32X4_ADD,
  I32X4_EXTADD_U,
  I32X4_LANE,
  I16X8_LE_U,
  I16X8_SPLAT,
  I8X16_ADD,
  I8X16_POPCNT,
  I8X16_SHUFFLE,
  IF,
  LOOP,
  set,
  tee,
  uleb,
  V128,
  V128_ANY_TRUE,
  V128_LOAD_AT,
  V128_XOR,
  vec,
} from './wasm-asm';

/** The largest chunk count with an unrolled kernel. */
export const UNROLLED_CHUNKS = 4;

/** Lanes 8…15 then 0…7 (the high half onto the low), and 4…7 then 0…3 (the second i32 onto the first). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const SECOND_WORD = [4, 5, 6, 7, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15];

export function hammingUnrolledBody(chunks: number): number[] {
  if (!(chunks >= 1 && chunks <= UNROLLED_CHUNKS)) throw new RangeError(`unrolled Hamming kernels exist for 1 to ${UNROLLED_CHUNKS} chunks, not ${chunks}`);
  // params: 0 codes, 1 stride, 2 query, 3 n, 4 dist, 5 hist; locals: 6 i, 7 d, 8 h, 9 row, 10 at (i32); 11 acc, 12… q_j (v128)
  const [codes, stride, query, n, dist, hist, i, d, h, row, at, acc] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const q = (j: number) => acc + 1 + j;
  const chunk = (j: number) => [...get(row), ...V128_LOAD_AT(16 * j), ...get(q(j)), ...V128_XOR, ...I8X16_POPCNT];
  const code = [
    ...get(codes),
    ...set(row),
    ...Array.from({ length: chunks }, (_, j) => [...get(query), ...V128_LOAD_AT(16 * j), ...set(q(j))]).flat(),
    ...forEachBelow(n),
    // at = dist + 2·i
    ...element(dist, i, 1),
    ...set(at),
    // acc = Σ_j popcnt(code_ij XOR q_j), per byte lane (≤ 8·chunks ≤ 32)
    ...chunk(0),
    ...Array.from({ length: chunks - 1 }, (_, j) => [...chunk(j + 1), ...I8X16_ADD]).flat(),
    // → four u32 sums, then lanes folded onto lane 0
    ...I16X8_EXTADD_U,
    ...I32X4_EXTADD_U,
    ...tee(acc),
    ...get(acc),
    ...get(acc),
    ...I8X16_SHUFFLE(HIGH_HALF),
    ...I32X4_ADD,
    ...tee(acc),
    ...get(acc),
    ...get(acc),
    ...I8X16_SHUFFLE(SECOND_WORD),
    ...I32X4_ADD,
    ...I32X4_LANE(0),
    ...set(d),
    // dist[i] = d
    ...get(at),
    ...get(d),
    ...I32_STORE16,
    // hist[d] += 1
    ...countInto(hist, d, h),
    ...bump(row, get(stride)),
    ...nextWhileBelow(i, n),
  ];
  return [
    ...vec([
      [...uleb(5), I32],
      [...uleb(1 + chunks), V128],
    ]),
    ...code,
    ...END,
  ];
}

export function collectBody(): number[] {
  // params: 0 dist, 1 n, 2 cut, 3 out; locals: 4 i, 5 m, 6 j, 7 end (i32); 8 cuts (v128)
  const [dist, n, cut, out, i, m, j, end, cuts] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const code = [
    ...get(cut),
    ...I16X8_SPLAT,
    ...set(cuts),
    ...forEachBelow(n),
    // any of dist[i … i+8) ≤ cut?
    ...element(dist, i, 1),
    ...V128_LOAD_AT(0),
    ...get(cuts),
    ...I16X8_LE_U,
    ...V128_ANY_TRUE,
    ...IF,
    // then each of them, j < min(i + 8, n)
    ...get(i),
    ...set(j),
    ...get(i),
    ...i32c(8),
    I32_ADD,
    ...set(end),
    ...BLOCK,
    ...LOOP,
    ...get(j),
    ...get(end),
    I32_LT_U,
    ...get(j),
    ...get(n),
    I32_LT_U,
    I32_AND,
    I32_EQZ,
    ...BR_IF(1),
    ...element(dist, j, 1),
    ...I32_LOAD16_U,
    ...get(cut),
    I32_LE_U,
    ...IF,
    ...element(out, m, 2),
    ...get(j),
    ...I32_STORE,
    ...bump(m, i32c(1)),
    ...END,
    ...bump(j, i32c(1)),
    ...BR(0),
    ...END,
    ...END,
    ...END,
    ...bump(i, i32c(8)),
    ...get(i),
    ...get(n),
    I32_LT_U,
    ...BR_IF(0),
    ...END,
    ...END,
    ...get(m),
  ];
  return [
    ...vec([
      [...uleb(4), I32],
      [...uleb(1), V128],
    ]),
    ...code,
    ...END,
  ];
}
