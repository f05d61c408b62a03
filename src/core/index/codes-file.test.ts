import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../random';
import { decodeIndexFile, encodeIndexFile, IndexFileError, type IndexIdentity } from './codes-file';
import { encodePq, trainPq } from './pq';
import { floatRows } from './rows';
import { encodeSign, signCodebook } from './sign';
import { pqIndex, signIndex } from './two-stage';

const dim = 16;
const count = 300;
const normal = gaussianSource(seededUniform(4));
const vectors = Float32Array.from({ length: count * dim }, () => normal());
const bias = Float32Array.from({ length: count }, () => normal());
const rows = floatRows(vectors, dim);
const identity: IndexIdentity = { vectors: 'model', modelId: 'hybrid-d16@1', catalogFingerprint: 'fp-1' };
const expected = { ...identity, count };
const user = Float32Array.from({ length: dim }, () => normal());

const scores = (stageOne: (q: Float32Array, out: Float32Array) => void) => {
  const out = new Float32Array(count);
  stageOne(user, out);
  return out;
};

describe('stored index codes', () => {
  it('PQ codes and biases round-trip through a file: the same stage-one scores to the bit', async () => {
    const codebook = trainPq(rows, { subspaces: 4, centroids: 32, sample: 300, iterations: 4, seed: 1 });
    const codes = encodePq(codebook, rows);
    const file = await encodeIndexFile(identity, { kind: 'pq', codebook, codes, bias });
    const back = await decodeIndexFile(file, expected);
    if (back.kind !== 'pq') throw new Error('kind changed');
    expect(back.codes).toEqual(codes);
    expect(back.codebook).toEqual(codebook);
    expect(back.bias).toEqual(bias);
    expect(scores(pqIndex(back.codebook, back.codes, back.bias).stageOne)).toEqual(scores(pqIndex(codebook, codes, bias).stageOne));
  });

  it('sign codes round-trip too (no biases), from a view at an odd offset', async () => {
    const codebook = signCodebook(dim, 64, 3);
    const codes = encodeSign(codebook, rows);
    const file = await encodeIndexFile({ ...identity, vectors: 'text' }, { kind: 'sign', codebook, codes });
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const back = await decodeIndexFile(shifted.subarray(1), { ...expected, vectors: 'text' });
    if (back.kind !== 'sign') throw new Error('kind changed');
    expect(back.codes).toEqual(codes);
    expect(back.bias).toBeUndefined();
    expect(scores(signIndex(back.codebook, back.codes).stageOne)).toEqual(scores(signIndex(codebook, codes).stageOne));
  });

  it('refuses codes of another model, another catalog, a truncated or a damaged file', async () => {
    const codebook = signCodebook(dim, 32, 3);
    const file = await encodeIndexFile(identity, { kind: 'sign', codebook, codes: encodeSign(codebook, rows), bias });
    const refuse = (bytes: Uint8Array, expectation: typeof expected, words: RegExp) => expect(decodeIndexFile(bytes, expectation)).rejects.toThrow(words);
    await refuse(file, { ...expected, modelId: 'other' }, /not the model vectors of other/);
    await refuse(file, { ...expected, vectors: 'text' }, /codes the model vectors/);
    await refuse(file, { ...expected, catalogFingerprint: 'fp-2' }, /another version of the catalog/);
    await refuse(file, { ...expected, count: count + 1 }, /another version of the catalog/);
    await refuse(file.subarray(0, file.length - 4), expected, /truncated/);
    const damaged = Uint8Array.from(file);
    damaged[damaged.length - 100]! ^= 1;
    await refuse(damaged, expected, /SHA-256/);
    await expect(decodeIndexFile(new Uint8Array(4), expected)).rejects.toBeInstanceOf(IndexFileError);
  });
});
