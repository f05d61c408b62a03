/**
 * Indices of the k largest scores, best first (ties: lower index first), skipping excluded indices
 * and non-finite scores. A bounded min-heap of typed arrays, O(n log k): it stays fast over 100,000
 * items, and fast the first few times too, before V8 has optimised it (no closures, no allocation
 * per swap: a Like on a freshly opened page runs it cold).
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: (index: number) => boolean): number[] {
  if (k <= 0) return [];
  // heap[0] is the worst kept item: lowest score, and among equal scores the highest index.
  const heapIndex = new Int32Array(k);
  const heapScore = new Float64Array(k);
  let size = 0;
  for (let index = 0; index < scores.length; index++) {
    const score = scores[index]!;
    if (!Number.isFinite(score)) continue;
    // Once the heap is full most items cannot enter it: compare first, ask `exclude` only for those that could.
    if (size === k && !(score > heapScore[0]! || (score === heapScore[0]! && index < heapIndex[0]!))) continue;
    if (exclude?.(index)) continue;
    let hole: number;
    if (size < k) {
      // Sift up: parents worse than the new item stay above it; better ones move down into the hole.
      hole = size++;
      while (hole > 0) {
        const parent = (hole - 1) >> 1;
        const parentScore = heapScore[parent]!;
        if (parentScore < score || (parentScore === score && heapIndex[parent]! > index)) break;
        heapIndex[hole] = heapIndex[parent]!;
        heapScore[hole] = parentScore;
        hole = parent;
      }
    } else {
      // Replace the worst and sift down: the worse child moves up while it is worse than the new item.
      hole = 0;
      for (;;) {
        const left = 2 * hole + 1;
        if (left >= size) break;
        const right = left + 1;
        let child = left;
        if (right < size && (heapScore[right]! < heapScore[left]! || (heapScore[right] === heapScore[left] && heapIndex[right]! > heapIndex[left]!)))
          child = right;
        const childScore = heapScore[child]!;
        if (!(childScore < score || (childScore === score && heapIndex[child]! > index))) break;
        heapIndex[hole] = heapIndex[child]!;
        heapScore[hole] = childScore;
        hole = child;
      }
    }
    heapIndex[hole] = index;
    heapScore[hole] = score;
  }
  const order = Array.from(heapIndex.subarray(0, size));
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/**
 * Scores that are not all finite: the model that gave them is broken (a weight that overflowed). topK
 * skips non-finite scores one by one, which for a broken model means every item, silently: an empty
 * feed. Callers that rank with a model check first and treat this as an error (see assertFiniteScores).
 */
export class NonFiniteScoresError extends Error {
  override name = 'NonFiniteScoresError';
}

/** Throws NonFiniteScoresError, naming how many and the first, unless every score is finite. */
export function assertFiniteScores(scores: ArrayLike<number>): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < scores.length; i++) {
    if (Number.isFinite(scores[i]!)) continue;
    if (bad++ === 0) first = i;
  }
  if (bad > 0) throw new NonFiniteScoresError(`${bad} of ${scores.length} scores are not finite (the first, item ${first}, is ${scores[first]})`);
}
