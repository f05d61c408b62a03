// The Transformers.js encoder in Node (onnxruntime-node, device cpu) on the random-weight MiniLM
// fixture from ../shared: checks the plumbing (offline load, tokenising, truncation, batching,
// pooling, normalisation, prefixes, error messages), never the quality of the vectors.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minilmFixtureDir, MINILM_FIXTURE_NAME } from '../../cli/model-paths';
import { embedAll } from '../core/encoder';
import { encoderSpec, type EncoderSpec } from '../core/encoder-registry';
import { dot, norm } from '../core/vector';
import { ModelLoadError, TransformersEncoder, useLocalModelsOnly } from './transformers-encoder';

const fixture = minilmFixtureDir();
const minilm = encoderSpec('Xenova/all-MiniLM-L6-v2')!;
/** The MiniLM spec, read from the fixture's folder name. */
const fixtureSpec: EncoderSpec = { ...minilm, id: MINILM_FIXTURE_NAME };

/**
 * q8 weights come with dynamic int8 quantisation of activations (DynamicQuantizeLinear): one scale
 * per tensor, i.e. per batch, so a text's vector depends slightly on its batch mates and padding.
 * Measured on the fixture: cosine 0.993–0.9997 to the one-by-one vector, max |Δ| up to 0.019.
 * Only float weights can meet 1e-4 for mixed batches; identical batch mates leave the scale unchanged.
 */
const Q8_BATCH_MIN_COSINE = 0.99;

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe.skipIf(!fixture)(`TransformersEncoder on the ${MINILM_FIXTURE_NAME} fixture (cpu)`, () => {
  let encoder: TransformersEncoder;
  beforeAll(async () => {
    useLocalModelsOnly({ modelBase: dirname(fixture!) + '/' });
    encoder = await TransformersEncoder.load(fixtureSpec, { device: 'cpu', dtype: 'q8' });
  });
  afterAll(() => encoder?.dispose());

  it('gives 384-d unit vectors, close in a batch to alone, for empty and 10,000-character texts too', async () => {
    const texts = ['The Hobbit by J.R.R. Tolkien', '', 'long '.repeat(2000), '一部轻松的喜剧', 'Pride and Prejudice'];
    const batched = await encoder.embedBatch(texts);
    expect(batched).toHaveLength(texts.length);
    for (let i = 0; i < texts.length; i++) {
      expect(batched[i]).toHaveLength(384);
      expect(norm(batched[i]!)).toBeCloseTo(1, 5);
      const [alone] = await encoder.embedBatch([texts[i]!]);
      expect(dot(batched[i]!, alone!)).toBeGreaterThan(Q8_BATCH_MIN_COSINE);
      // Same batch mates, same activation scale: pooling and row order must then be exact.
      const [first, second] = await encoder.embedBatch([texts[i]!, texts[i]!]);
      expect(maxAbsDifference(first!, alone!)).toBeLessThan(1e-4);
      expect(maxAbsDifference(second!, alone!)).toBeLessThan(1e-4);
    }
    // Different texts give different vectors (the pipeline is not collapsing inputs).
    expect(dot(batched[0]!, batched[4]!)).toBeLessThan(0.9999);
  });

  it('runs a batch in length-sorted runs and returns the vectors in the order of the texts', async () => {
    // One text per run: each vector must then be exactly that text's vector alone, whatever order the runs went in.
    const oneByOne = await TransformersEncoder.load(fixtureSpec, { device: 'cpu', dtype: 'q8', runSize: 1 });
    try {
      const texts = ['a much longer text about a family saga across three generations', 'short', '', 'medium length title here', 'x'];
      const vectors = await oneByOne.embedBatch(texts);
      expect(vectors).toHaveLength(texts.length);
      for (let i = 0; i < texts.length; i++) {
        const [alone] = await encoder.embedBatch([texts[i]!]);
        expect(maxAbsDifference(vectors[i]!, alone!)).toBeLessThan(1e-6);
      }
    } finally {
      await oneByOne.dispose();
    }
  });

  it('truncates at the model limit: text past 256 tokens changes nothing', async () => {
    const head = 'word '.repeat(300);
    const [a, b] = await encoder.embedBatch([head, head + ' completely different ending']);
    expect(maxAbsDifference(a!, b!)).toBeLessThan(1e-6);
  });

  it('applies the role prefix a model asks for', async () => {
    const e5Like = await TransformersEncoder.load({ ...fixtureSpec, prefixes: { query: 'query: ', passage: 'passage: ' } }, { device: 'cpu', dtype: 'q8' });
    try {
      const [asQuery] = await e5Like.embedBatch(['space opera'], 'query');
      const [asPassage] = await e5Like.embedBatch(['space opera'], 'passage');
      const [byHand] = await encoder.embedBatch(['query: space opera']);
      expect(maxAbsDifference(asQuery!, byHand!)).toBeLessThan(1e-5);
      expect(maxAbsDifference(asQuery!, asPassage!)).toBeGreaterThan(1e-3);
    } finally {
      await e5Like.dispose();
    }
  });

  it('embeds in batches with progress, in order', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => `Book number ${i}`);
    const progress: number[] = [];
    const all = await embedAll(encoder, texts, { batchSize: 3, onBatch: (_s, _v, p) => void progress.push(p.done) });
    expect(progress).toEqual([3, 6, 7]);
    const [fifth] = await encoder.embedBatch([texts[5]!]);
    expect(dot(all[5]!, fifth!)).toBeGreaterThan(Q8_BATCH_MIN_COSINE);
  });
});

describe.skipIf(!fixture)('TransformersEncoder with missing or corrupt files', () => {
  let base: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'models-'));
    cpSync(fixture!, join(base, 'broken'), { recursive: true });
    rmSync(join(base, 'broken', 'tokenizer.json'));
    cpSync(fixture!, join(base, 'corrupt'), { recursive: true });
    writeFileSync(join(base, 'corrupt', 'onnx', 'model_quantized.onnx'), 'not an onnx file');
    useLocalModelsOnly({ modelBase: base + '/' });
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('names the missing tokenizer file', async () => {
    const load = TransformersEncoder.load({ ...fixtureSpec, id: 'broken' }, { device: 'cpu', dtype: 'q8' });
    await expect(load).rejects.toBeInstanceOf(ModelLoadError);
    await expect(load).rejects.toThrow(/tokenizer\.json/);
  });

  it('names the corrupt weights file', async () => {
    await expect(TransformersEncoder.load({ ...fixtureSpec, id: 'corrupt' }, { device: 'cpu', dtype: 'q8' })).rejects.toThrow(
      /corrupt\/onnx\/model_quantized\.onnx/,
    );
  });

  it('refuses a dtype the model has no file for', async () => {
    await expect(TransformersEncoder.load({ ...fixtureSpec, weights: { q8: 'onnx/model_quantized.onnx' } }, { device: 'cpu', dtype: 'fp16' })).rejects.toThrow(
      /no fp16 weights/,
    );
  });
});
