"""EASE item-item weights for cli/build-co-liked.ts (see src/core/model/ease.ts for the method, which
is also the reference this is tested against): numpy's LAPACK inverts the 10,000-book Gram matrix in
minutes where the TypeScript reference takes over an hour.

  python3 ease.py LIKES.bin ITEMS LAMBDA NEIGHBOURS OUT_PREFIX

LIKES.bin: int32 (reader, item) pairs, little-endian. Writes OUT_PREFIX.ids (uint32, ITEMS x NEIGHBOURS,
0xffffffff where a row has fewer positive weights) and OUT_PREFIX.weights (float32): each item's
largest positive weights B[i, j], best first (ties by the lower j).
"""
import sys

import numpy as np

NO_NEIGHBOUR = 0xFFFFFFFF


def main(likes_path, items, lam, neighbours, out):
    pairs = np.unique(np.fromfile(likes_path, dtype="<i4").reshape(-1, 2), axis=0)
    pairs = pairs[(pairs[:, 1] >= 0) & (pairs[:, 1] < items)]
    # The Gram matrix X^T X reader by reader (a dense X would be readers x items).
    gram = np.zeros((items, items), dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]]) if len(pairs) else []
    for start, end in zip(starts, list(starts[1:]) + [len(pairs)]):
        liked = pairs[start:end, 1]
        gram[np.ix_(liked, liked)] += 1.0
    gram[np.diag_indices(items)] += lam
    p = np.linalg.inv(gram)
    del gram
    b = -p / np.diag(p)[None, :]
    b[np.diag_indices(items)] = 0.0
    ids = np.full((items, neighbours), NO_NEIGHBOUR, dtype=np.uint32)
    weights = np.zeros((items, neighbours), dtype=np.float32)
    for i in range(items):
        row = b[i]
        # Stable order: weight descending, then item ascending (as the TypeScript reference sorts).
        order = np.lexsort((np.arange(items), -row))
        best = [j for j in order[:neighbours] if row[j] > 0]
        ids[i, : len(best)] = best
        weights[i, : len(best)] = row[best]
    ids.astype("<u4").tofile(out + ".ids")
    weights.astype("<f4").tofile(out + ".weights")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
