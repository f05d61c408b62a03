/**
 * The catalog's vectors in the active text model's space: one row per item (undefined until read),
 * all views of one n × dimension matrix, the recommendation model's input.
 */
import { floatsHash } from '../core/hash';
import type { CachedVectors } from '../storage/db';

export class CatalogVectors {
  /** Row by item; a defined row is a view of `matrix` (or, while the width is unsettled, its own array). */
  rows: (Float32Array | undefined)[] = [];
  /** Rows one after another (n × dimension), zero rows where not computed yet. */
  matrix: Float32Array = new Float32Array(0);
  dimension = 0;
  /**
   * At catalog scale (engine/scale.ts) there is no matrix: n × dimension floats would not fit a phone
   * tab, so rows are read from storage for the candidates and each defined row is its own array.
   */
  sparse = false;

  /** How many items have a vector. */
  count(): number {
    return this.rows.reduce((n, vector) => n + (vector ? 1 : 0), 0);
  }

  complete(): boolean {
    return this.rows.every((vector) => vector !== undefined);
  }

  /** The catalog's vectors from the cache, decoded straight into the matrix (rows are views of it). */
  fillFromCache(cached: CachedVectors, hashes: readonly string[], modelDimension: number): void {
    this.sparse = false;
    // The width of this model's cached vectors, else the model's own (nothing cached for this catalog).
    let dimension = modelDimension;
    for (const hash of hashes) {
      const width = cached.dimensionOf(hash);
      if (width === undefined) continue;
      dimension = width;
      break;
    }
    const matrix = new Float32Array(hashes.length * dimension);
    this.rows = hashes.map((hash, row) =>
      cached.decodeInto(hash, matrix, row * dimension, dimension) ? matrix.subarray(row * dimension, (row + 1) * dimension) : undefined,
    );
    this.dimension = dimension;
    this.matrix = matrix;
  }

  /** The cached vectors of a catalog too large for a matrix: the rows found, each its own array. */
  fillSparse(cached: CachedVectors, hashes: readonly string[], modelDimension: number): void {
    this.sparse = true;
    this.matrix = new Float32Array(0);
    this.dimension = modelDimension;
    this.rows = hashes.map((hash) => {
      const width = cached.dimensionOf(hash);
      if (width !== modelDimension) return undefined;
      const row = new Float32Array(width);
      return cached.decodeInto(hash, row, 0, width) ? row : undefined;
    });
  }

  /** Takes `rows` (another model's, or after some were dropped) and rebuilds the matrix from them. */
  replace(rows: (Float32Array | undefined)[], modelDimension: number, mayResize: boolean): void {
    this.rows = rows;
    this.dimension = rows.find((e) => e !== undefined)?.length ?? modelDimension;
    this.matrix = new Float32Array(this.sparse ? 0 : rows.length * this.dimension);
    rows.forEach((vector, index) => vector && this.setMatrixRow(index, vector, mayResize));
  }

  /**
   * Gives item `index` its vector. `mayResize`: no model reads the matrix yet, so a vector of another
   * width than assumed (the encoder's width is known for sure only once it has answered) resizes it.
   */
  set(index: number, vector: Float32Array, mayResize: boolean): void {
    this.rows[index] = vector;
    this.setMatrixRow(index, vector, mayResize);
  }

  private setMatrixRow(index: number, vector: Float32Array, mayResize: boolean): void {
    if (this.sparse) return;
    if (vector.length !== this.dimension && mayResize) {
      this.dimension = vector.length;
      this.matrix = new Float32Array(this.rows.length * vector.length);
      this.rows.forEach((other, row) => other?.length === vector.length && this.matrix.set(other, row * vector.length));
    }
    if (vector.length === this.dimension) this.matrix.set(vector, index * this.dimension);
  }

  /**
   * Names the matrix when every row is filled (the text model, the dimension and the bits of every
   * vector), for the model's kept item projections; undefined while rows are missing.
   */
  projectionsKey(encoderId: string): string | undefined {
    if (!this.complete()) return undefined;
    return `${encoderId}:${this.dimension}:${floatsHash(this.matrix)}`;
  }
}
