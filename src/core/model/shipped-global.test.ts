import { describe, expect, it } from 'vitest';
import { HybridModel } from './hybrid';
import { readShippedHead } from './shipped-head';
import { decodeShippedGlobal, encodeShippedGlobal, fromFloat16Bits, shippedGlobalUrl, toFloat16Bits, type ShippedGlobalInfo } from './shipped-global';

const info: ShippedGlobalInfo = {
  modelId: 'hybrid-test-d4@1',
  catalogFingerprint: 'abc123',
  catalog: 'tiny',
  readers: 12,
  description: 'trained on 12 readers of tiny',
};

function trainedLikeModel(n = 50, D = 16, d = 4): HybridModel {
  const embeddings = Float32Array.from({ length: n * D }, (_, i) => Math.sin(i * 0.7) + 0.3 * Math.cos(i * 1.3));
  const model = new HybridModel({ itemIds: Array.from({ length: n }, (_, i) => `i${i}`), embeddings, embeddingDim: D, factors: d });
  // Residuals and biases of different magnitudes per row, as training leaves them.
  model.q = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 2.1) * (1 + (i % 7)) * 0.1);
  model.b = Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 0.5);
  model.W = Float32Array.from(model.W, (x, i) => x * (1 + 0.1 * Math.sin(i)));
  model.invalidate();
  return model;
}

describe('shipped global model file', () => {
  it('float16 round-trips exactly representable values and rounds others to nearest', () => {
    for (const x of [0, 1, -2, 0.5, 65504, -65504, 2 ** -24, 2 ** -14, 1 + 2 ** -10]) expect(fromFloat16Bits(toFloat16Bits(x))).toBe(x);
    expect(fromFloat16Bits(toFloat16Bits(1 + 2 ** -12))).toBe(1); // below half an ulp
    expect(fromFloat16Bits(toFloat16Bits(0.1))).toBeCloseTo(0.1, 3);
    expect(fromFloat16Bits(toFloat16Bits(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
  });

  it('decodes a view into a larger buffer (a Node Buffer from readFile) as it decodes the bytes alone', async () => {
    const bytes = await encodeShippedGlobal(info, trainedLikeModel().getParams());
    const padded = new Uint8Array(bytes.length + 24);
    padded.set(bytes, 24);
    const view = Buffer.from(padded.buffer, 24, bytes.length);
    const [fromView, fromBytes] = await Promise.all([decodeShippedGlobal(view), decodeShippedGlobal(bytes)]);
    expect(fromView.params).toEqual(fromBytes.params);
  });

  it('decodes to the trained parameters within quantisation error, and ranks as they do', async () => {
    const model = trainedLikeModel();
    const bytes = await encodeShippedGlobal(info, model.getParams());
    const { header, params } = await decodeShippedGlobal(bytes);
    expect(header).toMatchObject({ ...info, itemCount: 50, factors: 4, embeddingDim: 16 });
    const original = model.getParams();
    for (const name of Object.keys(original)) {
      expect(params[name]!.shape).toEqual(original[name]!.shape);
      const maxAbs = Math.max(...original[name]!.values.map(Math.abs));
      original[name]!.values.forEach((x, i) => expect(Math.abs(params[name]!.values[i]! - x)).toBeLessThanOrEqual(maxAbs / 254 + 1e-6));
    }
    // Scores of the decoded model against the original's for a few users: nearly identical order.
    const decoded = trainedLikeModel();
    decoded.setParams(params);
    for (let seed = 1; seed <= 5; seed++) {
      const user = Float32Array.from({ length: 4 }, (_, f) => Math.sin(seed * 3 + f));
      const [a, b] = [model.scoreAll(user), decoded.scoreAll(user)];
      const range = Math.max(...a) - Math.min(...a);
      a.forEach((x, i) => expect(Math.abs(b[i]! - x)).toBeLessThan(0.01 * range));
      const top = (s: Float32Array) => Array.from(s.keys()).sort((i, j) => s[j]! - s[i]!)[0];
      expect(top(b)).toBe(top(a));
    }
  });

  it('is compact: one byte per q value', async () => {
    const bytes = await encodeShippedGlobal(info, trainedLikeModel(1000, 64, 32).getParams());
    // q 32 KB + scales 4 KB + W 4 KB + b 2 KB + header.
    expect(bytes.length).toBeLessThan(1000 * 32 + 1000 * 4 + 32 * 64 * 2 + 1000 * 2 + 2000);
  });

  it('refuses damaged, truncated, foreign and newer files, naming why', async () => {
    const bytes = await encodeShippedGlobal(info, trainedLikeModel().getParams());
    const flipped = bytes.slice();
    flipped[bytes.length - 10]! ^= 0x40;
    await expect(decodeShippedGlobal(flipped, 'x.global')).rejects.toThrow(/x\.global: the checksum does not match/);
    await expect(decodeShippedGlobal(bytes.subarray(0, bytes.length - 1))).rejects.toThrow(/bytes; its header describes/);
    await expect(decodeShippedGlobal(new TextEncoder().encode('<!doctype html><html></html>'))).rejects.toThrow(/not a shipped global model file/);
    const headerLength = new DataView(bytes.buffer).getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Record<string, unknown>;
    const rewrite = (changed: Record<string, unknown>) => {
      const text = new TextEncoder().encode(JSON.stringify(changed).padEnd(headerLength, ' '));
      const out = bytes.slice();
      out.set(text.subarray(0, headerLength), 12);
      return out;
    };
    await expect(decodeShippedGlobal(rewrite({ ...header, version: 2 }))).rejects.toThrow(/version 2; this app reads version 1/);
    await expect(decodeShippedGlobal(rewrite({ ...header, itemCount: -1 }))).rejects.toThrow(/invalid header \(itemCount/);
  });

  it('refuses to write what it could not read back', async () => {
    const params = trainedLikeModel().getParams();
    params.W!.values[3] = 1e6;
    await expect(encodeShippedGlobal(info, params)).rejects.toThrow(/does not fit a float16/);
    params.W!.values[3] = Number.NaN;
    await expect(encodeShippedGlobal(info, params)).rejects.toThrow(/non-finite/);
  });

  it('lives beside the catalog, named by the model id', () => {
    expect(shippedGlobalUrl('/catalog/goodbooks-10k.json', 'hybrid-use-lite-512-d32@1')).toBe('/catalog/goodbooks-10k.hybrid-use-lite-512-d32_1.global');
    expect(shippedGlobalUrl('https://x.test/c.json?v=2', 'm/1')).toBe('https://x.test/c.m_1.global?v=2');
  });

  it('lists its rows by id when written with ids, and a catalog at scale reads its head by them', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `book-${i}`);
    const params = trainedLikeModel().getParams();
    const bytes = await encodeShippedGlobal(info, params, ids);
    const decoded = await decodeShippedGlobal(bytes);
    expect(decoded.itemIds).toEqual(ids);
    expect(decoded.header.itemIds?.bytes).toBe(new TextEncoder().encode(ids.join('\n')).length);
    // The same parameters as the file without ids; that file lists none.
    expect(decoded.params).toEqual((await decodeShippedGlobal(await encodeShippedGlobal(info, params))).params);
    expect((await decodeShippedGlobal(await encodeShippedGlobal(info, params))).itemIds).toBeUndefined();
    const load = (file: Uint8Array) => () => Promise.resolve({ bytes: file, source: 'h.global' });
    const head = await readShippedHead(load(bytes), { modelId: info.modelId, factors: 4, embeddingDim: 16 });
    expect(head).toMatchObject({ itemIds: ids, description: info.description, id: decoded.header.payloadSha256 });
    expect(await readShippedHead(load(bytes), { modelId: 'other', factors: 4, embeddingDim: 16 })).toEqual({
      problem: `h.global is for the model ${info.modelId}, not other`,
    });
    expect(await readShippedHead(load(await encodeShippedGlobal(info, params)), { modelId: info.modelId, factors: 4, embeddingDim: 16 })).toEqual({
      problem: 'h.global does not list its items by id: its rows cannot be matched to a catalog this large',
    });
    expect(await readShippedHead(() => Promise.resolve(undefined), { modelId: info.modelId, factors: 4, embeddingDim: 16 })).toEqual({});
    // Damaged ids are refused by their own checksum; a list of the wrong length is refused when written.
    const flipped = bytes.slice();
    flipped[bytes.length - 2]! ^= 0x01;
    await expect(decodeShippedGlobal(flipped)).rejects.toThrow(/item ids do not match their checksum/);
    await expect(encodeShippedGlobal(info, params, ids.slice(1))).rejects.toThrow(/one per row of q/);
    await expect(encodeShippedGlobal(info, params, [...ids.slice(1), 'a\nb'])).rejects.toThrow(/without line breaks/);
  });
});
