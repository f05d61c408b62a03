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
export async function embedAll(
  encoder: SentenceEncoder,
  texts: readonly string[],
  options: EmbedAllOptions,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += options.batchSize) {
    options.signal?.throwIfAborted();
    const vectors = await encoder.embedBatch(texts.slice(start, start + options.batchSize));
    out.push(...vectors);
    await options.onBatch?.(start, vectors, { done: out.length, total: texts.length });
  }
  return out;
}
