/**
 * The two-stage search of issue 21. Stage one scores every item approximately from its compact code
 * (./pq.ts or ./sign.ts, a few bytes per item, all in memory) and keeps the `candidates` best; stage
 * two scores only those exactly with the caller's scorer (the model's u·v_i + b_i from the item's
 * full vector, which at catalog scale is read from storage for the candidates only) and returns the
 * top k. The biases b_i enter stage one exactly, as one float per item added to the code's estimate
 * (see docs/scale.md), so a popular item is not lost because its vector coded badly.
 *
 * With candidates ≥ the number of items the result is exactly the brute force's (tested); with fewer
 * it is the brute force's whenever every true top-k item survives stage one (recall, docs/scale.md).
 */
import { topK } from '../topk';
import { pqScan, type PqCodebook } from './pq';
import { hammingScan, signCascadeScan, signScan, type CascadeOptions, type SignCodebook, type SignCodes } from './sign';

/** Approximate scores of every item for one query, into `out` (length: the item count). */
export type StageOne = (query: Float32Array, out: Float32Array) => void;

/** Exact scores of `items` into out[0 … items.length). */
export type ExactScorer = (items: readonly number[], out: Float64Array) => void;

export interface CodeIndex {
  readonly kind: 'pq' | 'sign' | 'hamming' | 'cascade';
  readonly count: number;
  /** Bytes held for stage one: codes, per-item scales and norms it reads, and the biases. */
  readonly bytes: number;
  readonly stageOne: StageOne;
  /** Where stage one writes without a copy, when it has a buffer of its own (the WASM kinds' memory). */
  readonly scratch?: Float32Array;
  /**
   * Stage one's best n directly, when the index can find them without scoring every item: the same
   * items in the same order as topK(stageOne(query), n, exclude) (tested), for less work.
   */
  readonly select?: (query: Float32Array, n: number, exclude?: (index: number) => boolean) => number[];
}

export function pqIndex(codebook: PqCodebook, codes: Uint8Array, bias?: Float32Array): CodeIndex {
  const count = codes.length / codebook.subspaces;
  checkBias(bias, count);
  return {
    kind: 'pq',
    count,
    bytes: codes.byteLength + codebook.values.byteLength + (bias?.byteLength ?? 0),
    stageOne: (query, out) => pqScan(codebook, codes, query, out, bias),
  };
}

export function signIndex(codebook: SignCodebook, codes: SignCodes, bias?: Float32Array, symmetric = false): CodeIndex {
  const count = codes.scales.length;
  checkBias(bias, count);
  return {
    kind: symmetric ? 'hamming' : 'sign',
    count,
    bytes: codes.codes.byteLength + (symmetric ? codes.norms.byteLength : codes.scales.byteLength) + (bias?.byteLength ?? 0),
    stageOne: symmetric ? (query, out) => hammingScan(codebook, codes, query, out, bias) : (query, out) => signScan(codebook, codes, query, out, bias),
  };
}

/** Sign codes behind a coarse Hamming pass (signCascadeScan): for the text path at catalog scale. */
export function signCascadeIndex(codebook: SignCodebook, codes: SignCodes, options: CascadeOptions, bias?: Float32Array): CodeIndex {
  const count = codes.scales.length;
  checkBias(bias, count);
  return {
    kind: 'cascade',
    count,
    bytes: codes.codes.byteLength + codes.scales.byteLength + (bias?.byteLength ?? 0),
    stageOne: (query, out) => signCascadeScan(codebook, codes, query, out, options, bias),
  };
}

function checkBias(bias: Float32Array | undefined, count: number): void {
  if (bias && bias.length !== count) throw new RangeError(`${bias.length} biases for ${count} items`);
}

export interface SearchOptions {
  k: number;
  /** How many items stage one keeps for exact scoring. */
  candidates: number;
  /** Items never returned (consumed, disliked). */
  exclude?: (index: number) => boolean;
  /** Reused across searches (length: the item count): no 4 MB allocation per search at 1M items. */
  scratch?: Float32Array;
}

export interface SearchResult {
  /** The top k, best first (ties: lower index first, as topK). */
  items: number[];
  /** Their exact scores. */
  scores: number[];
  /** What stage one kept, best first by the approximate score. */
  candidates: number[];
}

export function twoStageSearch(index: CodeIndex, query: Float32Array, exact: ExactScorer, options: SearchOptions): SearchResult {
  const candidates = stageOneTop(index, query, Math.max(options.k, options.candidates), options.exclude, options.scratch);
  return rescore(candidates, exact, options.k);
}

/** Stage one: the n best items by the index's estimate, best first (ties: lower index first). */
export function stageOneTop(index: CodeIndex, query: Float32Array, n: number, exclude?: (index: number) => boolean, scratch?: Float32Array): number[] {
  if (index.select) return index.select(query, n, exclude);
  const approximate = index.scratch ?? (scratch && scratch.length === index.count ? scratch : new Float32Array(index.count));
  index.stageOne(query, approximate);
  return topK(approximate, n, exclude);
}

/** Stage two: exact scores for the candidates, the best k of them. */
export function rescore(candidates: number[], exact: ExactScorer, k: number): SearchResult {
  const scores = new Float64Array(candidates.length);
  exact(candidates, scores);
  // A full sort of a few hundred, not topK: topK would break ties by position among the candidates,
  // the brute force breaks them by item index.
  const order = candidates
    .map((item, position) => ({ item, score: scores[position]! }))
    .filter((entry) => Number.isFinite(entry.score))
    .sort((a, b) => b.score - a.score || a.item - b.item)
    .slice(0, Math.max(0, k));
  return { items: order.map((entry) => entry.item), scores: order.map((entry) => entry.score), candidates };
}

/** The exact reference: every item scored, the top k (what the app does today). */
export function bruteForce(count: number, exact: ExactScorer, k: number, exclude?: (index: number) => boolean): SearchResult {
  const all = Array.from({ length: count }, (_, i) => i);
  const scores = new Float64Array(count);
  exact(all, scores);
  const items = topK(scores, k, exclude);
  return { items, scores: items.map((item) => scores[item]!), candidates: all };
}

/** Share of `truth` found in `found` (recall@|truth|). */
export function recall(truth: readonly number[], found: readonly number[]): number {
  if (truth.length === 0) return 1;
  const set = new Set(found);
  return truth.reduce((hits, item) => hits + (set.has(item) ? 1 : 0), 0) / truth.length;
}

/**
 * The exact scorer of the feed: u·v_i + b_i over row-major item vectors (count × dim), computed in
 * float64 from the float32 vectors, as in HybridModel.score up to rounding.
 */
export function dotScorer(vectors: Float32Array, dim: number, user: Float32Array, bias?: Float32Array): ExactScorer {
  return (items, out) => {
    for (let c = 0; c < items.length; c++) {
      const at = items[c]! * dim;
      let sum = bias ? bias[items[c]!]! : 0;
      for (let t = 0; t < dim; t++) sum += user[t]! * vectors[at + t]!;
      out[c] = sum;
    }
  };
}

/** Reads rows `items` (int8 codes, items.length × dim, and one scale each): memory, or storage/opfs-vectors VectorStore.readRows. */
export type Int8RowReader = (items: readonly number[], codes: Int8Array, scales: Float32Array) => void;

/** Buffers an int8Scorer reads its rows into, grown to the largest candidate list seen; shared by a caller's queries. */
export interface Int8Buffers {
  codes: Int8Array;
  scales: Float32Array;
}

export const int8Buffers = (): Int8Buffers => ({ codes: new Int8Array(0), scales: new Float32Array(0) });

/** `buffers`, grown (replaced, not copied) when they hold fewer than `rows` rows of `dim`. */
export function growInt8Buffers(buffers: Int8Buffers, rows: number, dim: number): Int8Buffers {
  if (buffers.scales.length < rows) {
    buffers.codes = new Int8Array(rows * dim);
    buffers.scales = new Float32Array(rows);
  }
  return buffers;
}

/**
 * query · codes[at .. at + dim), in four running sums (the order both int8 scorers share, so that their scores agree
 * to the bit).
 */
function int8Dot(query: Float32Array, codes: Int8Array, at: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < dim; t += 4) {
    s0 += query[t]! * codes[at + t]!;
    s1 += query[t + 1]! * codes[at + t + 1]!;
    s2 += query[t + 2]! * codes[at + t + 2]!;
    s3 += query[t + 3]! * codes[at + t + 3]!;
  }
  for (; t < dim; t++) s0 += query[t]! * codes[at + t]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * Int8 rows held in memory as the rows file lays them out (storage/opfs-vectors.ts): row i at i·record bytes,
 * a little-endian float32 scale, then the int8 codes.
 */
export interface HeldInt8Rows {
  readonly bytes: Uint8Array;
  readonly record: number;
}

/**
 * int8Scorer's scores for rows held in memory, computed where the rows lie: no copy of the candidates' rows
 * into buffers first (at 100,000 items that copy was 0.55 ms of a 2.4 ms query on a quiet machine and 2.5–3.4 ms
 * at load 5.5, docs/scale.md "Stop 37"). The same sums in the same order as int8Scorer: the same scores to the bit.
 */
export function heldInt8Scorer(rows: HeldInt8Rows, dim: number, query: Float32Array, bias?: Float32Array): ExactScorer {
  const { bytes, record } = rows;
  if (record !== 4 + dim) throw new RangeError(`rows of ${record} bytes for ${dim} dimensions`);
  const codes = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.floor(bytes.byteLength / record);
  return (items, out) => {
    for (let c = 0; c < items.length; c++) {
      const item = items[c]!;
      if (!(item >= 0 && item < count)) throw new RangeError(`row ${item} is outside the ${count} held`);
      const scaleAt = item * record;
      out[c] = int8Dot(query, codes, scaleAt + 4, dim) * view.getFloat32(scaleAt, true) + (bias ? bias[item]! : 0);
    }
  };
}

/**
 * The exact scorer over int8 rows read for the candidates only (at catalog scale the rows are on
 * disk): query·(code_i·scale_i) + b_i, in float64. The buffers grow to the largest candidate list seen
 * (`buffers`: a caller's, reused across its queries: 256 KB less garbage a query at 500 candidates).
 * The rows are asked for in ascending item order (one forward pass over the file; `read` sees the
 * sorted list), and each score is written at its item's place in `items`.
 */
export function int8Scorer(read: Int8RowReader, dim: number, query: Float32Array, bias?: Float32Array, buffers: Int8Buffers = int8Buffers()): ExactScorer {
  return (items, out) => {
    const { codes, scales } = growInt8Buffers(buffers, items.length, dim);
    const ascending = items.every((item, c) => c === 0 || items[c - 1]! <= item);
    const places = ascending ? undefined : Array.from(items.keys()).sort((a, b) => items[a]! - items[b]! || a - b);
    const sorted = places ? places.map((c) => items[c]!) : items;
    read(sorted, codes, scales);
    for (let r = 0; r < sorted.length; r++) {
      out[places ? places[r]! : r] = int8Dot(query, codes, r * dim, dim) * scales[r]! + (bias ? bias[sorted[r]!]! : 0);
    }
  };
}
