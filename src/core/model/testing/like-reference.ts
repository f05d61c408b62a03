/**
 * Stop 39's code of what stop 40 made faster (docs/scale.md "Stop 40: the Like with the model open"), kept
 * as the reference its tests compare the new code with on seeded data: the same items, scores and order.
 */
import { topK } from '../../topk';
import { dot } from '../../vector';
import { textQuery, type ModelCandidateOptions } from '../model-candidates';

/** model-candidates.ts modelCandidates as of stop 39 (a Map of every scored item). */
/** The model's top k items by u·v_i + b_i: the head scored exactly, the rest by the text index's search with Wᵀu plus the prior's b. */
export function referenceModelCandidates(options: ModelCandidateOptions): { items: number[]; scores: number[] } {
  const { model, head, user, popularity, exclude, k } = options;
  const scoreOf = new Map<number, number>();
  const headScores = head.scores(user);
  const inHead = new Set<number>();
  head.items.forEach((index, r) => {
    inHead.add(index);
    if (!exclude(index)) scoreOf.set(index, headScores[r]!);
  });
  const z = textQuery(model, user);
  if (z.some((x) => x !== 0)) {
    const found = options.search(z, options.textCandidates, (index) => inHead.has(index) || exclude(index));
    found.items.forEach((index, c) => scoreOf.set(index, found.scores[c]! + model.priorBias(popularity(index))));
  }
  const also = options.alsoScore;
  for (const index of also?.items ?? []) {
    if (inHead.has(index) || scoreOf.has(index) || exclude(index)) continue;
    const row = also!.rowOf(index);
    if (!row) continue;
    scoreOf.set(index, dot(z, row) + model.priorBias(popularity(index)));
  }
  const own = options.own;
  if (own && own.items.length > 0) {
    const v = new Float32Array(model.factors);
    for (const index of own.items) {
      const row = own.rowOf(index);
      if (!row || exclude(index)) continue;
      const b = model.itemVector(own.idOf(index), row, popularity(index), v);
      scoreOf.set(index, dot(user, v) + b);
    }
  }
  const entries = [...scoreOf];
  const order = topK(
    entries.map(([, score]) => score),
    k,
  );
  return { items: order.map((c) => entries[c]![0]), scores: order.map((c) => entries[c]![1]) };
}
