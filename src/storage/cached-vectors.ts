/**
 * One model's cached vectors as read from the store: int8 rows and their scales, by text hash. A
 * returning visit decodes the whole catalog's vectors into its matrix at once, straight from these rows
 * (decodeInto), without one Float32Array per vector and a copy.
 */
import { dequantizeRow, dequantizeRowInto } from '../core/quantize';
import type { EmbeddingChunk } from './store';

export class CachedVectors {
  private readonly rows = new Map<string, { chunk: EmbeddingChunk; row: number }>();
  /** Vectors left out because their record was damaged (storage/records.ts): they are embedded again. */
  skippedRows = 0;

  static empty(): CachedVectors {
    return new CachedVectors([]);
  }

  /** Built by a store from the chunks it read (see IndexedDbStore.readEmbeddings). */
  constructor(chunks: readonly EmbeddingChunk[]) {
    for (const chunk of chunks) chunk.textHashes.forEach((hash, row) => this.rows.set(hash, { chunk, row }));
  }

  get size(): number {
    return this.rows.size;
  }

  hashes(): IterableIterator<string> {
    return this.rows.keys();
  }

  /** Each text's cached row, where it lies (for compaction: the bits are copied, not decoded). */
  rowsOf(): IterableIterator<[string, { chunk: EmbeddingChunk; row: number }]> {
    return this.rows.entries();
  }

  /** The length of the vector cached for this text, if any. */
  dimensionOf(hash: string): number | undefined {
    return this.rows.get(hash)?.chunk.dimension;
  }

  /** The vector cached for this text, as a new array. */
  get(hash: string): Float32Array | undefined {
    const found = this.rows.get(hash);
    return found && dequantizeRow(found.chunk.codes, found.chunk.scales, found.row, found.chunk.dimension);
  }

  /**
   * Writes the vector cached for this text into out[offset …], if there is one of exactly that
   * `dimension`; says whether it did. Values are those get() returns.
   */
  decodeInto(hash: string, out: Float32Array, offset: number, dimension: number): boolean {
    const found = this.rows.get(hash);
    if (!found || found.chunk.dimension !== dimension) return false;
    dequantizeRowInto(found.chunk.codes, found.chunk.scales, found.row, dimension, out, offset);
    return true;
  }
}
