/**
 * The model's text search at catalog scale with its stage one read ahead (issue 21; docs/scale.md "Stop 40:
 * the Like with the model open"). The model's own candidates outside the head are the text index's nearest
 * to z = Wᵀu (core/model/model-candidates.ts). u moves at every Like, so z is new each time and its stage one
 * scanned every code again (~11 ms a Like at 1,000,000 items in Chromium, stop 39), after the Like. Here the
 * stage one is that of z as the read-ahead predicted it for a like of a card on screen (ScaleModel.predictLike:
 * u's step for u alone, on the last rank's pool model; ScaleSearch, engine/scale-index.ts, keeps its list and
 * the read-ahead reads its rows), and its candidates are scored exactly by the Like's own z, by the scorers
 * ScaleSearch.query uses (in place for rows held in memory; else the rows the engine holds, the others read
 * from storage). The candidates are those of a u close to the Like's; their scores and order are exact.
 */
import { heldInt8Scorer, int8Buffers, int8Scorer, rescore, type ExactScorer, type SearchResult } from '../core/index/two-stage';
import type { VectorStore } from '../storage/opfs-vectors';
import { heldFirst, type ScaleSearch } from './scale-index';

/**
 * A predicted vector's stage one keeps this many times the candidates the search would keep for its own vector
 * (MODEL_TEXT_CANDIDATES'): more of the Like's own nearest among them.
 */
export const PREDICTED_CANDIDATES_FACTOR = 2;

/**
 * The top k items by `query`·e_i among stage one's candidates for `stageOne` (ScaleSearch.query's, kept by it
 * for a vector asked before: no scan then), scored as ScaleSearch.query scores its own.
 */
export function searchFromStageOne(
  search: ScaleSearch,
  store: VectorStore,
  stageOne: Float32Array,
  query: Float32Array,
  k: number,
  exclude: (index: number) => boolean,
  held: (index: number) => Float32Array | undefined,
): SearchResult {
  const dim = store.identity.dimension;
  const zero = new Float32Array(dim);
  // Stage one's list without a row read (every candidate "held" as a zero row, the read-ahead's own way) and
  // without the exclusions, as the read-ahead asked it: with them, a list short of its length (the head is a
  // tenth of a 100,000-item catalog) would scan again. The excluded are left out here.
  const candidates = search.query(stageOne, PREDICTED_CANDIDATES_FACTOR * k, undefined, undefined, () => zero).candidates.filter((index) => !exclude(index));
  const inMemory = store.heldRows;
  const exact: ExactScorer = inMemory
    ? heldInt8Scorer(inMemory, dim, query)
    : heldFirst(
        held,
        int8Scorer((items, codes, scales) => store.readRows(items, codes, scales), dim, query, undefined, int8Buffers()),
        query,
      );
  return rescore(candidates, exact, k);
}

/** Stage one's candidates for `stageOne` (kept by ScaleSearch for the Like that follows), without a row read. */
export function stageOneAhead(search: ScaleSearch, dim: number, stageOne: Float32Array, k: number): number[] {
  const zero = new Float32Array(dim);
  return search.query(stageOne, PREDICTED_CANDIDATES_FACTOR * k, undefined, undefined, () => zero).candidates;
}
