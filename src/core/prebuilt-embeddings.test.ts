import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textHash } from './hash';
import {
  PREBUILT_FORMAT,
  PrebuiltFormatError,
  decodePrebuilt,
  encodePrebuilt,
  fnv1a32,
  prebuiltEmbeddingsUrl,
  prebuiltRow,
  prebuiltRowsByHash,
  readPrebuiltHeader,
} from './prebuilt-embeddings';
import { dequantizeRow, quantizeRows } from './quantize';

/** What the IndexedDB cache returns for a vector (Storage.asCached, without importing storage into core). */
function asCached(vector: Float32Array): Float32Array {
  const { codes, scales } = quantizeRows([vector], vector.length);
  return dequantizeRow(codes, scales, 0, vector.length);
}

function sample(n = 3, dimension = 4) {
  const rows = Array.from({ length: n }, (_, i) => ({
    textHash: textHash(`book ${i}`),
    vector: Float32Array.from({ length: dimension }, (_, j) => Math.sin(i * 7 + j)),
  }));
  return { modelId: 'use-lite-512', dimension, catalog: 'test', rows };
}

/** Rewrites the JSON header (and its length), keeping the payload: for files a newer or careless writer made. */
function withHeader(file: Uint8Array, edit: (header: Record<string, unknown>) => Record<string, unknown>): Uint8Array {
  const { header, payloadStart } = readPrebuiltHeader(file);
  const bytes = new TextEncoder().encode(JSON.stringify(edit({ ...header })));
  const start = Math.ceil((12 + bytes.length) / 8) * 8;
  const out = new Uint8Array(start + file.length - payloadStart);
  out.set(file.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, bytes.length, true);
  out.set(bytes, 12);
  out.set(file.subarray(payloadStart), start);
  return out;
}

describe('prebuilt embeddings file', () => {
  it('round-trips any rows: hashes in order, vectors exactly as the IndexedDB cache would return them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.string({ maxLength: 30 }), fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 40, maxLength: 40 })), {
          maxLength: 20,
        }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (dimension, raw, modelId) => {
          const rows = raw.map(([text, values]) => ({ textHash: textHash(text), vector: Float32Array.from(values.slice(0, dimension)) }));
          const decoded = decodePrebuilt(encodePrebuilt({ modelId, dimension, rows }));
          expect(decoded.modelId).toBe(modelId);
          expect(decoded.dimension).toBe(dimension);
          expect(decoded.textHashes).toEqual(rows.map((row) => row.textHash));
          rows.forEach((row, i) => expect(Array.from(prebuiltRow(decoded, i))).toEqual(Array.from(asCached(row.vector))));
        },
      ),
    );
  });

  it('decodes a view into a larger buffer (a Node Buffer from readFile) as it decodes the bytes alone', () => {
    const bytes = encodePrebuilt(sample(3));
    const padded = new Uint8Array(bytes.length + 24);
    padded.set(bytes, 24);
    expect(decodePrebuilt(Buffer.from(padded.buffer, 24, bytes.length))).toEqual(decodePrebuilt(bytes));
  });

  it('matches rows by text hash, first row winning on a repeated text', () => {
    const input = sample(2);
    input.rows.push({ textHash: input.rows[0]!.textHash, vector: Float32Array.of(9, 9, 9, 9) });
    const rows = prebuiltRowsByHash(decodePrebuilt(encodePrebuilt(input)));
    expect(rows.get(input.rows[0]!.textHash)).toBe(0);
    expect(rows.get(input.rows[1]!.textHash)).toBe(1);
    expect(rows.size).toBe(2);
  });

  it('names the file next to the catalog, one path segment whatever the model id', () => {
    expect(prebuiltEmbeddingsUrl('/catalog/goodbooks-10k.json', 'use-lite-512')).toBe('/catalog/goodbooks-10k.use-lite-512.emb');
    expect(prebuiltEmbeddingsUrl('https://x.test/a/b.json?v=2', 'Xenova/all-MiniLM-L6-v2')).toBe('https://x.test/a/b.Xenova_all-MiniLM-L6-v2.emb?v=2');
  });

  it('refuses to write NaN or a vector of the wrong width', () => {
    const nan = sample();
    nan.rows[1]!.vector[2] = Number.NaN;
    expect(() => encodePrebuilt(nan)).toThrow(/NaN/);
    const wide = sample();
    wide.rows[0]!.vector = new Float32Array(5);
    expect(() => encodePrebuilt(wide)).toThrow(/5 values, expected 4/);
  });

  describe('bad files are refused with a message saying why', () => {
    const good = encodePrebuilt(sample());

    it('not our file (an HTML page, empty bytes)', () => {
      expect(() => decodePrebuilt(new TextEncoder().encode('<!doctype html><html></html>'))).toThrow(/not a precomputed embeddings file/);
      expect(() => decodePrebuilt(new Uint8Array(0))).toThrow(PrebuiltFormatError);
    });

    it('truncated anywhere', () => {
      for (const length of [8, 12, 40, good.length - 1, good.length - 13]) {
        expect(() => decodePrebuilt(good.subarray(0, length)), `cut at ${length}`).toThrow(/truncated/);
      }
    });

    it('a newer version', () => {
      expect(() => decodePrebuilt(withHeader(good, (h) => ({ ...h, version: 2 })))).toThrow(/version 2; this app reads version 1/);
    });

    it('a header that does not describe the bytes', () => {
      expect(() => decodePrebuilt(withHeader(good, (h) => ({ ...h, count: 4 })))).toThrow(/truncated/);
      expect(() => decodePrebuilt(withHeader(good, (h) => ({ ...h, dimension: 2 })))).toThrow(/longer than its header says/);
      expect(() => decodePrebuilt(withHeader(good, (h) => ({ ...h, dimension: -1 })))).toThrow(/dimension/);
      expect(() => decodePrebuilt(withHeader(good, (h) => ({ ...h, format: 'something-else' })))).toThrow(new RegExp(`not a ${PREBUILT_FORMAT} header`));
      expect(() => decodePrebuilt(withHeader(good, ({ modelId: _m, ...h }) => h))).toThrow(/modelId/);
    });

    it('a damaged payload (checksum)', () => {
      const damaged = good.slice();
      damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 0x40;
      expect(() => decodePrebuilt(damaged)).toThrow(/damaged: checksum/);
    });

    it('a NaN, negative, infinite or huge scale, even with a matching checksum', () => {
      // 3e38 is finite, but its row's values would overflow every dot product with it.
      for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY, 3e38, 8]) {
        const { header, payloadStart } = readPrebuiltHeader(good);
        const file = good.slice();
        // The scales follow the 3 hashes of 8 bytes.
        new DataView(file.buffer).setFloat32(payloadStart + 3 * 8 + 4, bad, true);
        const fixed = withHeader(file, (h) => ({ ...h, checksum: fnv1a32(file.subarray(payloadStart)) }));
        expect(header.count).toBe(3);
        expect(() => decodePrebuilt(fixed), String(bad)).toThrow(/row 1 has an invalid scale/);
      }
    });
  });
});
