/**
 * Cosines between catalog items (dot products of their unit text embeddings), each pair computed
 * once and kept. The feed asks for the same pairs over and over: after a Like, the liked items that
 * explain and diversify the feed (up to 50 anchors) are the same but one, and most of the 200-item
 * candidate pool is the same too. Without it a rank spends ~7M multiply-adds (pool × anchors × 512
 * dimensions, plus MMR) recomputing what it computed a moment ago.
 *
 * Unbounded growth is avoided by forgetting everything past `capacity` pairs (a rank then recomputes
 * its ~15,000 pairs once). Rows of the embedding matrix that change must be announced (forget).
 */
export class SimilarityCache {
  private readonly pairs = new Map<number, number>();
  /**
   * key = high × stride + low. The item count when every key then fits V8's small integers (below
   * 2^30: catalogs up to 32,768 items), which a Map hashes without allocating; else 2^26 (exact for
   * any catalog under 2^26 items, keys below 2^52, as heap numbers).
   */
  private readonly stride: number;

  constructor(
    private readonly embeddings: Float32Array,
    private readonly dim: number,
    private readonly capacity = 200_000,
  ) {
    const items = dim > 0 ? Math.ceil(embeddings.length / dim) : 0;
    this.stride = items * items < 2 ** 30 ? Math.max(1, items) : 67_108_864;
  }

  /** e_a · e_b. */
  between(a: number, b: number): number {
    const low = a < b ? a : b;
    const high = a < b ? b : a;
    const key = high * this.stride + low;
    const known = this.pairs.get(key);
    if (known !== undefined) return known;
    const { embeddings, dim } = this;
    let sum = 0;
    const x = low * dim;
    const y = high * dim;
    for (let t = 0; t < dim; t++) sum += embeddings[x + t]! * embeddings[y + t]!;
    if (this.pairs.size >= this.capacity) this.pairs.clear();
    this.pairs.set(key, sum);
    return sum;
  }

  /** Pairs kept now (for tests and diagnostics). */
  get size(): number {
    return this.pairs.size;
  }

  /** The embeddings of these items changed (or all of them, without an argument). */
  forget(items?: Iterable<number>): void {
    if (!items) {
      this.pairs.clear();
      return;
    }
    const changed = new Set(items);
    if (changed.size === 0) return;
    for (const key of this.pairs.keys()) {
      const high = Math.floor(key / this.stride);
      if (changed.has(high) || changed.has(key - high * this.stride)) this.pairs.delete(key);
    }
  }
}
