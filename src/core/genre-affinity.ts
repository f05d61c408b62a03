/**
 * Genre affinity: how much of an item's genres the reader's liked items share, as the mean Jaccard
 * similarity of its genre set with each liked item's, in [0, 1]. It is the catalog's own metadata (the
 * genre tags each card shows), not the collaborative model: the shipped model learns what readers of
 * a book also read, which for five horror books is largely the bestsellers every reader reads; this
 * term keeps the feed near the genres the reader actually likes (see GENRE_AFFINITY_WEIGHT).
 */

interface GenreIndex {
  /** Genre ids of each item (catalog order), ascending. */
  ids: readonly Uint16Array[];
  genreCount: number;
}

const indexes = new WeakMap<readonly (readonly string[] | undefined)[], GenreIndex>();

function indexFor(genres: readonly (readonly string[] | undefined)[]): GenreIndex {
  let index = indexes.get(genres);
  if (!index) {
    const idOf = new Map<string, number>();
    const ids = genres.map((list) => {
      const set = new Set<number>();
      for (const genre of list ?? []) {
        let id = idOf.get(genre);
        if (id === undefined) idOf.set(genre, (id = idOf.size));
        set.add(id);
      }
      return Uint16Array.from([...set].sort((a, b) => a - b));
    });
    index = { ids, genreCount: idOf.size };
    indexes.set(genres, index);
  }
  return index;
}

/**
 * Mean over `liked` (items with genres only) of |G_i ∩ G_j| / |G_i ∪ G_j| for every item i, into `out`.
 * Zeros when no liked item has genres, or the catalog has none. O(items × liked × genres per item).
 */
export function genreAffinity(
  genres: readonly (readonly string[] | undefined)[],
  liked: Iterable<number>,
  out: Float32Array = new Float32Array(genres.length),
): Float32Array {
  out.fill(0);
  const { ids, genreCount } = indexFor(genres);
  if (genreCount === 0 || genreCount > 0xffff) return out;
  const likedSets = [...new Set(liked)].map((item) => ids[item]).filter((set): set is Uint16Array => set !== undefined && set.length > 0);
  if (likedSets.length === 0) return out;
  // Each liked item's genres as a membership row, so an intersection is |G_i| lookups.
  const member = new Uint8Array(likedSets.length * genreCount);
  likedSets.forEach((set, j) => set.forEach((id) => (member[j * genreCount + id] = 1)));
  for (let i = 0; i < ids.length && i < out.length; i++) {
    const own = ids[i]!;
    if (own.length === 0) continue;
    let sum = 0;
    for (let j = 0; j < likedSets.length; j++) {
      let shared = 0;
      const row = j * genreCount;
      for (let g = 0; g < own.length; g++) shared += member[row + own[g]!]!;
      sum += shared / (own.length + likedSets[j]!.length - shared);
    }
    out[i] = sum / likedSets.length;
  }
  return out;
}
