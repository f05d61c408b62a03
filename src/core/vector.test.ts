import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changedRows, dot, matVec } from './vector';

describe('matVec', () => {
  it('gives offset[i] + rows_i · vector for every row, whatever the row count (four rows a pass, then the rest)', () => {
    const float = fc.float({ min: -10, max: 10, noNaN: true });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }).chain((dim) =>
          fc.tuple(
            fc.constant(dim),
            fc
              .integer({ min: 0, max: 11 })
              .chain((count) =>
                fc.tuple(fc.array(float, { minLength: count * dim, maxLength: count * dim }), fc.array(float, { minLength: count, maxLength: count })),
              ),
          ),
        ),
        fc.boolean(),
        (input, withOffset) => {
          const [dim, [rowValues, offsetValues]] = input;
          const count = offsetValues.length;
          const rows = Float32Array.from(rowValues);
          const vector = Float32Array.from({ length: dim }, (_, t) => t - dim / 2);
          const offset = withOffset ? Float32Array.from(offsetValues) : undefined;
          const out = matVec(rows, dim, vector, new Float32Array(count), offset);
          for (let i = 0; i < count; i++) {
            let expected = offset ? offset[i]! : 0;
            let sum = 0;
            for (let t = 0; t < dim; t++) sum += rows[i * dim + t]! * vector[t]!;
            expected += sum;
            expect(out[i]).toBeCloseTo(Math.fround(expected), 3);
          }
        },
      ),
    );
  });
});

describe('dot', () => {
  it('equals the plain sum of products over the shorter length, for any length (four sums a pass, then the rest)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { maxLength: 23 }),
        fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { maxLength: 23 }),
        (x, y) => {
          const a = Float32Array.from(x);
          const b = Float32Array.from(y);
          let expected = 0;
          for (let i = 0; i < Math.min(a.length, b.length); i++) expected += a[i]! * b[i]!;
          expect(dot(a, b)).toBeCloseTo(expected, 6);
        },
      ),
    );
  });
});

describe('changedRows', () => {
  it('finds exactly the rows where any value moved', () => {
    const before = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    const after = Float32Array.from([0, 0, 1, 1.5, 2, 2, 3.25, 3]);
    expect(changedRows(before, after, 2)).toEqual([1, 3]);
    expect(changedRows(before, Float32Array.from(before), 2)).toEqual([]);
  });
});
