/**
 * What the engine calls at catalog scale (issue 21), in one place, so wiring it in is a few lines:
 *  - `textIndexFrom(bytes, identity)`: the publisher's text index (cli/build-shards.ts, codes-file.ts) as
 *    the stage one of queries: Hamming distances of the sign codes by the WASM SIMD kernel where it runs
 *    (the fastest method measured, docs/scale.md), else the JS cascade;
 *  - `ScaleSearch.query(vector, k)`: a query's top k by the cosine with the items' text vectors, the
 *    candidates' rows read from the VectorStore (OPFS) for the exact score;
 *  - `ScaleSearch.feedPool(user, pool)`: the feed's pool by u·v_i + b_i, from the feed's codes, exact for
 *    the candidates from the model's int8 v_i (a second store). Without a feed index: undefined, and the
 *    engine scores every item as today.
 * Text vectors are unit length (the encoders normalise), so the dot product of the query with a row is
 * the cosine.
 */
import { decodeIndexFile, type IndexIdentity } from '../core/index/codes-file';
import {
  growInt8Buffers,
  heldInt8Scorer,
  int8Buffers,
  int8Scorer,
  pqIndex,
  rescore,
  signCascadeIndex,
  signIndex,
  stageOneTop,
  twoStageSearch,
  type CodeIndex,
  type ExactScorer,
  type HeldInt8Rows,
  type Int8RowReader,
  type SearchResult,
} from '../core/index/two-stage';
import { wasmHammingIndex } from '../core/index/wasm-index';
import { wasmScanSupported } from '../core/index/wasm-scan';
import { dot } from '../core/vector';
import type { VectorStore } from '../storage/opfs-vectors';

/** Stage one's settings, chosen by the bench (docs/scale.md). */
export const TEXT_CANDIDATES = 500;
/**
 * A query's candidates when the text rows are held in memory (VectorStore.heldBytes: catalogs up to ~130,000
 * 512-d rows): no OPFS read, so stage two's cost is its dot products, and more candidates buy recall
 * (0.937 at 500, 0.970 at 1,000 in the lab's 100,000-item catalog; docs/scale.md, "Stop 37").
 */
export const TEXT_CANDIDATES_HELD = 1000;
export const FEED_CANDIDATES = 500;
/** With WASM: Hamming distances by SIMD popcount, only the nearest TEXT_KEEP by the histogram scored. */
export const TEXT_KEEP = 2000;
/** Without WASM: the JS cascade's coarse pass over the first 256 bits keeps 5% of the catalog. */
export const TEXT_COARSE_BITS = 256;
export const TEXT_COARSE_SHARE = 0.05;

/** The stored text index as a query's stage one; throws IndexFileError (then: rebuild or fetch it again). */
export async function textIndexFrom(bytes: Uint8Array, identity: Omit<IndexIdentity, 'vectors'> & { count: number }): Promise<CodeIndex> {
  const contents = await decodeIndexFile(bytes, { ...identity, vectors: 'text' });
  if (contents.kind !== 'sign') {
    // A pq64 text index (a publisher's choice): its JS scan.
    return pqIndex(contents.codebook, contents.codes);
  }
  const { codebook, codes } = contents;
  if (wasmScanSupported() && codebook.bits % 128 === 0 && codebook.bits <= 31 * 128)
    return wasmHammingIndex(codebook, codes, undefined, Math.max(TEXT_KEEP, TEXT_CANDIDATES));
  if (codebook.bits < 256) return signIndex(codebook, codes);
  return signCascadeIndex(codebook, codes, { coarseBits: TEXT_COARSE_BITS, keep: Math.ceil(TEXT_COARSE_SHARE * identity.count) });
}

export interface ScaleSearchParts {
  text: { index: CodeIndex; rows: VectorStore };
  feed?: { index: CodeIndex; rows: VectorStore; bias: Float32Array };
}

export class ScaleSearch {
  /** Stage one's lists for the last vectors asked, most recent first (see stageOne). */
  private readonly stageOnes: { vector: Float32Array; n: number; items: number[]; whole: boolean }[] = [];
  /** How many times stage one scanned the codes (the bench and tests count the lists taken from memory). */
  stageOneRuns = 0;
  /** The candidates' rows are read into these, reused by every query (no 256–512 KB of garbage a query). */
  private readonly textBuffers = int8Buffers();
  private readonly feedBuffers = int8Buffers();

  constructor(private readonly parts: ScaleSearchParts) {}

  /**
   * A query's top k items by cosine (exact for the candidates); `exclude`: items never returned;
   * `onRows`: sees the candidates' rows as read for the exact score (a caller keeps them, not reading twice);
   * `held`: a candidate's row already in memory (the engine's rows read before), scored from there instead
   * of read from storage again. A Like's stage two asked OPFS for all 500 candidates' rows, most of them
   * read by the Like before: one synchronous read each, about 0.4 ms in Chromium's in-memory OPFS (docs/scale.md).
   */
  query(
    vector: Float32Array,
    k: number,
    exclude?: (index: number) => boolean,
    onRows?: Int8RowReader,
    held?: (index: number) => Float32Array | undefined,
  ): SearchResult {
    const { index, rows } = this.parts.text;
    // The rows' copy in memory once complete (storage/opfs-vectors-read.ts): the candidates are scored where they lie.
    const inMemory = rows.heldRows;
    const exact: ExactScorer = inMemory ? this.inPlace(inMemory, vector, onRows, held) : this.fromStorage(vector, onRows, held);
    const candidates = rows.heldBytes > 0 ? TEXT_CANDIDATES_HELD : TEXT_CANDIDATES;
    return rescore(this.stageOne(index, vector, Math.max(k, candidates), exclude), exact, k);
  }

  /**
   * Stage one's best n for `vector` without `exclude`d items: stageOneTop's list, kept for the last few vectors
   * asked. The read-ahead (engine/scale-readahead.ts) asks for the direction a Like of each of the first cards
   * would make; the Like, when it comes, asks for the same direction (the same applyEvent on the same profile)
   * and takes its list from here instead of scanning the codes again (9 ms of a Like's 18–21 ms in the worker at
   * 1,000,000 items, docs/scale.md "Stop 37"). A list is kept without exclusions, STAGE_ONE_MARGIN longer: the
   * first n of it that `exclude` leaves are what stage one with `exclude` finds (its order does not depend on n
   * or on the exclusions; tested), else stage one runs again with them.
   */
  private stageOne(index: CodeIndex, vector: Float32Array, n: number, exclude?: (index: number) => boolean): number[] {
    const at = this.stageOnes.findIndex((kept) => kept.n === n && sameVector(kept.vector, vector));
    let kept = at >= 0 ? this.stageOnes.splice(at, 1)[0]! : undefined;
    if (!kept) {
      const wanted = n + STAGE_ONE_MARGIN;
      const items = stageOneTop(index, vector, wanted);
      kept = { vector: Float32Array.from(vector), n, items, whole: items.length < wanted };
      this.stageOneRuns++;
    }
    this.stageOnes.unshift(kept);
    this.stageOnes.length = Math.min(this.stageOnes.length, STAGE_ONE_KEPT);
    const left = exclude ? kept.items.filter((item) => !exclude(item)) : kept.items;
    if (left.length >= n || kept.whole) return left.slice(0, n);
    this.stageOneRuns++;
    return stageOneTop(index, vector, n, exclude);
  }

  /** Rows read from storage (OPFS) into the reused buffers, those held by the caller scored from there. */
  private fromStorage(vector: Float32Array, onRows?: Int8RowReader, held?: (index: number) => Float32Array | undefined): ExactScorer {
    const rows = this.parts.text.rows;
    const read: Int8RowReader = (items, codes, scales) => {
      rows.readRows(items, codes, scales);
      onRows?.(items, codes, scales);
    };
    const stored = int8Scorer(read, rows.identity.dimension, vector, undefined, this.textBuffers);
    return held ? heldFirst(held, stored, vector) : stored;
  }

  /**
   * The store's rows held in memory: every candidate scored where its row lies (no copy), and `onRows` given
   * copies of the rows the caller does not hold yet (those it keeps), none when it holds them all.
   */
  private inPlace(inMemory: HeldInt8Rows, vector: Float32Array, onRows?: Int8RowReader, held?: (index: number) => Float32Array | undefined): ExactScorer {
    const rows = this.parts.text.rows;
    const dim = rows.identity.dimension;
    const score = heldInt8Scorer(inMemory, dim, vector);
    if (!onRows) return score;
    return (items, out) => {
      score(items, out);
      const wanted = held ? items.filter((item) => !held(item)) : items;
      if (wanted.length === 0) return;
      const buffers = growInt8Buffers(this.textBuffers, wanted.length, dim);
      rows.readRows(wanted, buffers.codes, buffers.scales);
      onRows(wanted, buffers.codes, buffers.scales);
    };
  }

  /** The feed's pool (the items rankFeed then ranks), or undefined without a feed index. */
  feedPool(user: Float32Array, pool: number, exclude?: (index: number) => boolean): SearchResult | undefined {
    const feed = this.parts.feed;
    if (!feed) return undefined;
    const exact = int8Scorer(
      (items, codes, scales) => feed.rows.readRows(items, codes, scales),
      feed.rows.identity.dimension,
      user,
      feed.bias,
      this.feedBuffers,
    );
    return twoStageSearch(feed.index, user, exact, { k: pool, candidates: Math.max(pool, FEED_CANDIDATES), ...(exclude ? { exclude } : {}) });
  }
}

/** Stage one's lists kept: the read-ahead's four cards, a Like's own direction and a query or two. */
const STAGE_ONE_KEPT = 8;
/** A kept list is this much longer than asked: room for the exclusions a later call adds. */
const STAGE_ONE_MARGIN = 64;

function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let t = 0; t < a.length; t++) if (a[t] !== b[t]) return false;
  return true;
}

/** An exact scorer that scores the rows held in memory itself and asks `stored` for the others only. */
export function heldFirst(held: (index: number) => Float32Array | undefined, stored: ExactScorer, vector: Float32Array): ExactScorer {
  return (items, out) => {
    const missing: number[] = [];
    const places: number[] = [];
    items.forEach((item, c) => {
      const row = held(item);
      if (!row) {
        missing.push(item);
        places.push(c);
        return;
      }
      out[c] = dot(vector, row);
    });
    if (missing.length === 0) return;
    const scores = new Float64Array(missing.length);
    stored(missing, scores);
    places.forEach((c, m) => (out[c] = scores[m]!));
  };
}
