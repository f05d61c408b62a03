/**
 * The device's own q_i and b_i at catalog scale (issue 21; docs/scale.md "Stop 39: the device's own q_i,
 * b_i at scale"): the small path keeps a dense local copy of q (n × d) and b and moves the rows of the
 * items in each online step's pairs; at a million items that copy cannot be kept, so the scale path keeps
 * the moved rows of the items the reader touched (liked, disliked, clicked) only, by id, as the values
 * that replace the global model's (its head row, or q = 0 and the prior's b). Bounded: at most `cap`
 * items, the one touched longest ago evicted first (it falls back to the global model's q_i and b_i).
 */

/** One item's own parameters: q_i (d floats) and b_i. */
export interface ItemOverride {
  q: Float32Array;
  b: number;
}

/**
 * At most 2,048 items: d + 1 = 33 floats each, 270 KB stored with u after every event that moved them (a
 * reader's likes, dislikes and clicks rarely reach it; one who does keeps the latest 2,048).
 */
export const ITEM_OVERRIDE_CAP = 2048;

export class ItemOverrides {
  /** By id, in the order they were last touched (the first is evicted first). */
  private readonly entries = new Map<string, ItemOverride>();

  constructor(
    readonly factors: number,
    readonly cap = ITEM_OVERRIDE_CAP,
  ) {
    if (!(Number.isSafeInteger(cap) && cap > 0)) throw new RangeError(`the cap must be a positive integer, not ${cap}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): ItemOverride | undefined {
    return this.entries.get(id);
  }

  /** The ids kept, the one touched longest ago first. */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Keeps a copy of `q` and `b` as `id`'s own, touched now; returns the id evicted to stay within the cap, if any. */
  set(id: string, q: ArrayLike<number>, b: number): string | undefined {
    if (q.length !== this.factors) throw new RangeError(`q has ${q.length} values, the model ${this.factors}`);
    this.entries.delete(id);
    this.entries.set(id, { q: Float32Array.from(q), b: Math.fround(b) });
    if (this.entries.size <= this.cap) return undefined;
    const oldest = this.entries.keys().next().value as string;
    this.entries.delete(oldest);
    return oldest;
  }

  clear(): void {
    this.entries.clear();
  }

  /** The values as stored: one row of q_i then b_i per id, in `ids()`'s order. */
  values(): Float32Array {
    const d = this.factors;
    const out = new Float32Array(this.entries.size * (d + 1));
    let r = 0;
    for (const { q, b } of this.entries.values()) {
      out.set(q, r * (d + 1));
      out[r * (d + 1) + d] = b;
      r++;
    }
    return out;
  }

  /** Replaces the contents with stored ids and values (as `ids()` and `values()` wrote them); false, and empty, when they do not fit. */
  restore(ids: readonly string[], values: Float32Array): boolean {
    const d = this.factors;
    this.entries.clear();
    if (values.length !== ids.length * (d + 1) || ids.length > this.cap || new Set(ids).size !== ids.length) return false;
    ids.forEach((id, r) => this.entries.set(id, { q: values.slice(r * (d + 1), r * (d + 1) + d), b: values[r * (d + 1) + d]! }));
    return true;
  }
}
