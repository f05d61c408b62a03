/**
 * Leave-last-like-out evaluation of real readers against a global model, as a device would use it:
 * the reader's other ratings become the app's events (likes, dislikes), u is fitted to them with the
 * device's own fine-tune (fineTuneUser, softmax objective, USER_SOFTMAX_DEFAULTS, u alone), and the
 * held-out book is ranked among every catalog book the reader has not rated. HR@10 and NDCG@10 over
 * the readers. Used by `npm run train-global` to choose settings on the validation users.
 */
import { fitUserSoftmax } from '../model/fit-user';
import type { HybridModel } from '../model/hybrid';
import { fineTuneUser, type HistoryEvent } from '../model/fine-tune-user';
import { heldOutRank, hitAtK, ndcgOfRank } from './metrics';
import { holdOutLastLike, type RatingsTable } from './goodbooks';

export interface ReaderCase {
  /** The reader's events in file order, as catalog indices. */
  history: HistoryEvent[];
  heldOut: number;
  /** Catalog indices of every book the reader rated (held-out one included): not candidates, except heldOut. */
  rated: Int32Array;
}

/**
 * The evaluable readers among `users` (indices into table.userIds; see holdOutLastLike), their books
 * mapped to catalog indices. Ratings of books the catalog lacks are dropped first.
 */
export function readerCases(
  table: RatingsTable,
  rowsByUser: readonly (readonly number[])[],
  users: readonly number[],
  indexById: ReadonlyMap<string, number>,
): ReaderCase[] {
  const cases: ReaderCase[] = [];
  for (const user of users) {
    const rows = rowsByUser[user]!.filter((row) => indexById.has(table.books[row]!));
    const reader = holdOutLastLike(table, rows);
    if (!reader) continue;
    cases.push({
      history: reader.history.map((event) => ({ kind: event.kind, item: indexById.get(event.book)! })),
      heldOut: indexById.get(reader.heldOut)!,
      rated: Int32Array.from(reader.rated, (book) => indexById.get(book)!),
    });
  }
  return cases;
}

export interface HeldOutMetrics {
  'HR@10': number;
  'NDCG@10': number;
  readers: number;
}

/** HR@k and NDCG@k of `score` (catalog-wide scores for a case; higher first) over the cases. */
export async function evaluateCases(
  cases: readonly ReaderCase[],
  score: (reader: ReaderCase, index: number) => Float32Array | Promise<Float32Array>,
  k = 10,
): Promise<HeldOutMetrics> {
  let hits = 0;
  let ndcg = 0;
  for (const [index, reader] of cases.entries()) {
    const scores = Float32Array.from(await score(reader, index));
    const target = scores[reader.heldOut]!;
    // Rated books are not candidates: pushed below everything (the held-out one is compared, not ranked against itself).
    for (const item of reader.rated) scores[item] = Number.NEGATIVE_INFINITY;
    scores[reader.heldOut] = Number.NEGATIVE_INFINITY;
    const rank = heldOutRank(target, scores);
    hits += hitAtK(rank, k);
    ndcg += ndcgOfRank(rank, k);
  }
  const n = Math.max(1, cases.length);
  return { 'HR@10': hits / n, 'NDCG@10': ndcg / n, readers: cases.length };
}

/** The device's fit: u from zero, fineTuneUser's softmax objective with the app's defaults, then every item scored. */
export function deviceScorer(model: HybridModel, seed = 7): (reader: ReaderCase, index: number) => Promise<Float32Array> {
  const out = new Float32Array(model.itemCount);
  return async (reader, index) => {
    const { user } = await fineTuneUser(model, model.newUserVector(), reader.history, { objective: 'softmax', seed: seed + index });
    return model.scoreAll(user, out);
  };
}

/**
 * The exact maximiser of the same objective over the likes (fitUserSoftmax, ridge λ = `l2`; dislikes
 * left out): about 20× faster than the device's TF.js fine-tune and, on goodbooks' validation readers,
 * within 0.002 of its HR@10 for the text-only model, so sweeps can validate on more readers.
 */
export function newtonScorer(model: HybridModel, l2 = 20): (reader: ReaderCase) => Float32Array {
  const out = new Float32Array(model.itemCount);
  return (reader) => {
    const likes = reader.history.filter((event) => event.kind === 'like').map((event) => event.item);
    return model.scoreAll(
      fitUserSoftmax(
        model.itemVectors(),
        model.b,
        model.factors,
        likes,
        likes.map(() => 1),
        { l2 },
      ).user,
      out,
    );
  };
}

/** Popularity: how many training readers liked each item (a new reader's feed without any model). */
export function likeCounts(
  table: RatingsTable,
  rowsByUser: readonly (readonly number[])[],
  users: readonly number[],
  indexById: ReadonlyMap<string, number>,
  itemCount: number,
  minRating = 4,
): Float32Array {
  const counts = new Float32Array(itemCount);
  for (const user of users) {
    for (const row of rowsByUser[user]!) {
      const item = indexById.get(table.books[row]!);
      if (item !== undefined && table.ratings[row]! >= minRating) counts[item]!++;
    }
  }
  return counts;
}
