import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dequantizeRow, quantizeRows } from './quantize';
import { cosine, normalized } from './vector';

describe('int8 row quantisation', () => {
  it('keeps unit embeddings within cosine 0.9999 of the original', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 8, maxLength: 64 }), (values) => {
        const row = normalized(Float32Array.from(values));
        fc.pre(row.some((x) => x !== 0));
        const { codes, scales } = quantizeRows([row], row.length);
        expect(cosine(row, dequantizeRow(codes, scales, 0, row.length))).toBeGreaterThan(0.9999);
      }),
    );
  });

  it('decodes each row of a batch on its own scale, and zero rows to zeros', () => {
    const rows = [Float32Array.of(0.5, -0.25), Float32Array.of(0, 0), Float32Array.of(100, 50)];
    const { codes, scales } = quantizeRows(rows, 2);
    expect(Array.from(dequantizeRow(codes, scales, 0, 2))).toEqual([0.5, expect.closeTo(-0.25, 2)]);
    expect(Array.from(dequantizeRow(codes, scales, 1, 2))).toEqual([0, 0]);
    expect(dequantizeRow(codes, scales, 2, 2)[0]).toBeCloseTo(100, 3);
  });
});
