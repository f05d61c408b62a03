/**
 * EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item-item weights
 * B that best rebuild each reader's likes from their other likes, in closed form,
 *   P = (XᵀX + λI)⁻¹,  B_ij = −P_ij / P_jj,  B_jj = 0,
 * so a reader's score for item j is Σ_{i liked} B_ij. Unlike cosine item-kNN it weighs each liked book
 * by what it adds beside the others (two volumes of one series do not count twice), which is why the
 * publisher's "readers who liked X also liked" file is built from it (cli/build-co-liked.ts; the choice
 * and λ are measured on validation readers in docs/benchmarks.md). Each row keeps its `neighbours`
 * largest positive weights, in the co-liked file's layout (./co-liked.ts).
 *
 * This is the reference, written by hand (a Cholesky inverse, n³/2 multiply-adds over contiguous rows):
 * correct, but over an hour for 10,000 books in JavaScript, so the publisher's build runs the same
 * method in numpy (cli/python/ease.py through cli/ease-numpy.ts), tested against this one. Devices
 * only read the file.
 */

/** Pads a row with fewer neighbours, as buildCoLiked does (encodeCoLiked writes it as the file's NONE). */
export const NO_NEIGHBOUR = 0xffffffff;

/** The Gram matrix XᵀX of the readers' likes (row-major, itemCount²), each reader's likes counted once. */
export function likeGram(likesPerReader: readonly (readonly number[])[], itemCount: number): Float64Array {
  const gram = new Float64Array(itemCount * itemCount);
  for (const likes of likesPerReader) {
    const items = [...new Set(likes)].filter((item) => item >= 0 && item < itemCount);
    for (const a of items) {
      const row = a * itemCount;
      for (const b of items) gram[row + b]! += 1;
    }
  }
  return gram;
}

/**
 * The inverse of a symmetric positive-definite matrix (row-major n×n, overwritten with its Cholesky
 * factor's inverse on the way). Throws when the matrix is not positive definite.
 */
export function invertSpd(matrix: Float64Array, n: number, onProgress?: (done: number) => void): Float64Array {
  if (matrix.length !== n * n) throw new Error(`invertSpd: expected ${n}×${n} values, got ${matrix.length}`);
  const a = matrix;
  // 1. Cholesky, in place: the lower triangle becomes L with LLᵀ = A (dot products of contiguous rows).
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let sum = a[ri + j]!;
      for (let k = 0; k < j; k++) sum -= a[ri + k]! * a[rj + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new Error(`invertSpd: the matrix is not positive definite (pivot ${i} is ${sum})`);
        a[ri + i] = Math.sqrt(sum);
      } else a[ri + j] = sum / a[rj + j]!;
    }
    onProgress?.((i + 1) / (3 * n));
  }
  // 2. U = L⁻¹, row by row in place: row i of U is (eᵢ − Σ_{k<i} L_ik·U_k) / L_ii, an accumulation of the
  //    rows above (contiguous), with row i of L copied out first.
  const li = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    li.set(a.subarray(ri, ri + i + 1));
    a.fill(0, ri, ri + i + 1);
    for (let k = 0; k < i; k++) {
      const factor = li[k]!;
      if (factor === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) a[ri + j]! -= factor * a[rk + j]!;
    }
    const diagonal = li[i]!;
    for (let j = 0; j < i; j++) a[ri + j]! /= diagonal;
    a[ri + i] = 1 / diagonal;
    // Row i's upper part held A's original values: cleared, U is lower triangular.
    a.fill(0, ri + i + 1, ri + n);
    onProgress?.((n + i + 1) / (3 * n));
  }
  // 3. A⁻¹ = UᵀU: row i gets U_ki·U_k for every k ≥ i (rank-one updates on contiguous rows), lower
  //    triangle first, then mirrored.
  const inverse = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const factor = a[rk + i]!;
      if (factor === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) inverse[ri + j]! += factor * a[rk + j]!;
    }
    onProgress?.((2 * n + k + 1) / (3 * n));
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) inverse[j * n + i] = inverse[i * n + j]!;
  return inverse;
}

/** EASE's B from the Gram matrix (consumed): B_ij = −P_ij / P_jj with P = (G + λI)⁻¹, zero diagonal. */
export function easeWeights(gram: Float64Array, n: number, lambda: number, onProgress?: (done: number) => void): Float64Array {
  if (!(lambda > 0)) throw new Error('EASE: λ must be positive');
  for (let i = 0; i < n; i++) gram[i * n + i]! += lambda;
  const p = invertSpd(gram, n, onProgress);
  const diagonal = Float64Array.from({ length: n }, (_, j) => p[j * n + j]!);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < n; j++) p[ri + j] = i === j ? 0 : -p[ri + j]! / diagonal[j]!;
  }
  return p;
}

/**
 * Each item's `neighbours` largest positive weights in its row of B (what liking it adds to each other
 * item), best first, in the co-liked file's layout (buildCoLiked's): a row with fewer positive weights
 * is padded with NO_NEIGHBOUR. Weights are scaled so the largest is 1 when any exceeds it (the file keeps
 * similarities in [0, 1]; the feed z-scores the channel, so the scale does not change a ranking).
 */
export function easeNeighbours(weights: Float64Array, n: number, neighbours: number): { ids: Uint32Array; similarities: Float32Array } {
  const ids = new Uint32Array(n * neighbours).fill(NO_NEIGHBOUR);
  const similarities = new Float32Array(n * neighbours);
  const items = Array.from({ length: n }, (_, j) => j);
  for (let i = 0; i < n; i++) {
    const row = weights.subarray(i * n, (i + 1) * n);
    // A partial selection would do; a full sort of 10,000 keeps it simple and takes seconds in all.
    const best = items
      .filter((j) => row[j]! > 0)
      .sort((x, y) => row[y]! - row[x]! || x - y)
      .slice(0, neighbours);
    best.forEach((j, k) => {
      ids[i * neighbours + k] = j;
      similarities[i * neighbours + k] = row[j]!;
    });
  }
  return { ids, similarities: scaleToUnit(similarities) };
}

/** Divides by the largest value when it exceeds 1 (the co-liked file keeps similarities in (0, 1]), in place. */
export function scaleToUnit(similarities: Float32Array): Float32Array {
  let max = 0;
  for (const value of similarities) max = Math.max(max, value);
  if (max > 1) for (let k = 0; k < similarities.length; k++) similarities[k]! /= max;
  return similarities;
}
