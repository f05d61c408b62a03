import { describe, expect, it } from 'vitest';
import { seededUniform } from '../random';
import { principalDirections } from './pca';

/**
 * Rows drawn along planted axes with known spreads: x = Σ_j s_j·z_j·e_{axis_j} + small noise, z uniform in [-1, 1).
 * The principal directions must come back as those axes, strongest first, with variance ≈ s_j²/3.
 */
function planted(rowCount: number, dim: number, axes: readonly number[], spreads: readonly number[], seed: number): Float32Array {
  const uniform = seededUniform(seed);
  const rows = new Float32Array(rowCount * dim);
  for (let r = 0; r < rowCount; r++) {
    for (let j = 0; j < dim; j++) rows[r * dim + j] = 0.01 * (uniform() - 0.5);
    axes.forEach((axis, j) => (rows[r * dim + axis]! += spreads[j]! * (2 * uniform() - 1)));
  }
  return rows;
}

describe('principalDirections', () => {
  // 7 directions: the four-row blocks of the product C·Q and the remainder (7 = 4 + 3) both carry a planted axis.
  const dim = 48;
  const axes = [5, 17, 30, 2, 41, 11, 23];
  const spreads = [9, 8, 7, 6, 5, 4, 3];
  const rows = planted(3000, dim, axes, spreads, 7);
  const found = principalDirections(rows, 3000, dim, axes.length, 3);

  it('gives orthonormal rows', () => {
    for (let i = 0; i < found.count; i++) {
      for (let j = i; j < found.count; j++) {
        let dot = 0;
        for (let x = 0; x < dim; x++) dot += found.basis[i * dim + x]! * found.basis[j * dim + x]!;
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 4);
      }
    }
  });

  it('finds the planted axes, strongest first, with their variances', () => {
    axes.forEach((axis, i) => {
      expect(Math.abs(found.basis[i * dim + axis]!)).toBeGreaterThan(0.99);
      // sampling error of a variance over 3,000 rows: a few per cent
      expect(Math.abs(found.variances[i]! / (spreads[i]! ** 2 / 3) - 1)).toBeLessThan(0.08);
    });
    for (let i = 1; i < found.count; i++) expect(found.variances[i]!).toBeLessThanOrEqual(found.variances[i - 1]!);
  });

  it('is deterministic for a seed', () => {
    const again = principalDirections(rows, 3000, dim, axes.length, 3);
    expect(Array.from(again.basis)).toEqual(Array.from(found.basis));
  });
});
