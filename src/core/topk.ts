/**
 * Indices of the k largest scores, best first, skipping excluded indices and non-finite scores.
 * A bounded min-heap: O(n log k), so it stays fast over 100,000 items.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: (index: number) => boolean): number[] {
  if (k <= 0) return [];
  const heap: number[] = []; // indices; heap[0] has the smallest score
  const less = (a: number, b: number) => scores[a]! < scores[b]! || (scores[a] === scores[b] && a > b);
  const siftDown = (start: number) => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && less(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && less(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  };
  for (let index = 0; index < scores.length; index++) {
    if (!Number.isFinite(scores[index]!)) continue;
    // Once the heap is full most items cannot enter it: compare first, ask `exclude` only for those that could.
    if (heap.length >= k && !less(heap[0]!, index)) continue;
    if (exclude?.(index)) continue;
    if (heap.length < k) {
      heap.push(index);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!less(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    } else if (less(heap[0]!, index)) {
      heap[0] = index;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (less(a, b) ? 1 : less(b, a) ? -1 : 0));
}
