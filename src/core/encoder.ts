import type { TextRole } from './encoder-registry';

/** A sentence encoder: text in, unit-length vectors out. Implementations live in engine/ and cli/. */
export interface SentenceEncoder {
  /** Stable id used as the embedding cache key, e.g. "use-lite-512". */
  readonly id: string;
  readonly dimension: number;
  /**
   * Embeds one batch; the result has one unit vector per input, in order. `role` picks the
   * model's prefix for retrieval models (e5: "query: " / "passage: "); catalog text is a passage.
   */
  embedBatch(texts: readonly string[], role?: TextRole): Promise<Float32Array[]>;
  /** Not the model in use any more (kept for a quick switch back): may free what only speed needs. */
  standBy?(): void;
  /** In use again after standBy. */
  resume?(): void;
  /** The user just acted (a like, a search): for a moment, background batches should leave the CPU to the answer. */
  userActive?(): void;
}

export interface EmbedProgress {
  done: number;
  total: number;
}

export interface EmbedAllOptions {
  batchSize: number;
  signal?: AbortSignal;
  /** Called after every batch with the vectors of that batch, so callers can cache and use them at once. */
  onBatch?: (start: number, vectors: Float32Array[], progress: EmbedProgress) => void | Promise<void>;
}

/** Embeds texts in batches, reporting each batch; stops between batches when the signal aborts. */
export async function embedAll(encoder: SentenceEncoder, texts: readonly string[], options: EmbedAllOptions): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += options.batchSize) {
    options.signal?.throwIfAborted();
    const vectors = await encoder.embedBatch(texts.slice(start, start + options.batchSize));
    out.push(...vectors);
    await options.onBatch?.(start, vectors, { done: out.length, total: texts.length });
  }
  return out;
}

/**
 * A batch is padded to its longest text, and a padded token costs what a real one does. Catalog texts
 * vary a lot in length (goodbooks: 57 % of a popularity-ordered batch of 32 was padding), so the
 * encoders run a batch in runs of this many texts, shortest first: on a CPU (WASM, TF.js, native) a
 * smaller run costs next to nothing per token, the padding is what shrinks (`npm run bench -- encoders`,
 * quiet, runs of 8 against whole batches of 32: USE Lite on TF.js wasm +27 %, MiniLM q8 on ORT Web
 * +49 %, on onnxruntime-node +27 %).
 */
export const RUN_SIZE = 8;

/**
 * Embeds `texts` with `embedRun` in runs of at most `runSize` texts of similar length (by characters,
 * which stand in for tokens: close enough to group, and free), returning the vectors in the order of
 * `texts`.
 */
export async function embedInLengthSortedRuns(
  texts: readonly string[],
  runSize: number,
  embedRun: (texts: readonly string[]) => Promise<Float32Array[]>,
): Promise<Float32Array[]> {
  if (texts.length <= runSize) return embedRun(texts);
  const order = texts.map((_, index) => index).sort((a, b) => texts[a]!.length - texts[b]!.length);
  const vectors = new Array<Float32Array>(texts.length);
  for (let start = 0; start < order.length; start += runSize) {
    const run = order.slice(start, start + runSize);
    const embedded = await embedRun(run.map((index) => texts[index]!));
    run.forEach((index, k) => (vectors[index] = embedded[k]!));
  }
  return vectors;
}
