/** The embedding cache in IndexedDB: one record per encoded batch (int8 rows), read, written, compacted, measured, cleared. */
import { dequantizeRow, quantizeRows } from '../../core/quantize';
import { CachedVectors } from '../cached-vectors';
import { checkEmbeddingChunk } from '../records';
import { chunkOfBatch, EMBEDDINGS_PER_COMPACT_RECORD, type EmbeddingChunk, type StoredEmbedding, type StoreUsage } from '../store';
import type { NoteSkipped, RecsDatabase } from './schema';
import { settled } from './settled';
import { chunkBytes } from './bytes';

/**
 * Cached vectors under one model, by text hash: for these hashes (missing ones are absent from the
 * map), or every one stored when `hashes` is left out.
 */
export async function getEmbeddings(db: RecsDatabase, note: NoteSkipped, modelId: string, hashes?: readonly string[]): Promise<Map<string, Float32Array>> {
  const table = await readEmbeddings(db, note, modelId);
  const found = new Map<string, Float32Array>();
  for (const hash of hashes ?? table.hashes()) {
    const vector = table.get(hash);
    if (vector) found.set(hash, vector);
  }
  return found;
}

/**
 * Every cached vector of one model, still in its stored form: decoded only when asked for, straight
 * into the caller's array if it has one (see CachedVectors.decodeInto).
 */
export async function readEmbeddings(db: RecsDatabase, note: NoteSkipped, modelId: string): Promise<CachedVectors> {
  const range = modelKeyRange(modelId);
  const { chunks, skippedRows } = checkedChunks(await settled(db.transaction('embeddings')).store.getAll(range));
  const table = new CachedVectors(chunks);
  table.skippedRows = skippedRows;
  if (skippedRows > 0) note(`${skippedRows} cached text ${skippedRows === 1 ? 'vector was' : 'vectors were'} damaged and will be computed again`);
  return table;
}

/**
 * The vector exactly as getEmbeddings will return it after putEmbeddings (int8, one scale per row).
 * Code that ranks with a fresh vector uses this form, so that near-ties break the same way before a
 * reload and after it.
 */
export function asCached(vector: Float32Array): Float32Array {
  const { codes, scales } = quantizeRows([vector], vector.length);
  return dequantizeRow(codes, scales, 0, vector.length);
}

/** Stores one batch of vectors (all of one model and dimension) as one record, in one transaction. */
export async function putEmbeddings(db: RecsDatabase, records: readonly StoredEmbedding[]): Promise<void> {
  const chunk = chunkOfBatch(records);
  if (chunk) await db.put('embeddings', chunk);
}

/**
 * Merges one model's cached vectors into records of up to `perRecord` vectors each, when they lie in
 * more than `threshold` records; the int8 rows and scales are copied, so every vector reads back
 * bit for bit as before. The catalog is cached as it is read, one record per batch of 32, and a
 * returning visit reads fewer, larger records back faster (docs/benchmarks.md).
 * One transaction: a tab closed midway leaves the records as they were. Returns the record counts.
 */
export async function compactEmbeddings(
  db: RecsDatabase,
  modelId: string,
  { perRecord = EMBEDDINGS_PER_COMPACT_RECORD, threshold = 16 } = {},
): Promise<{ before: number; after: number }> {
  const range = modelKeyRange(modelId);
  const tx = settled(db.transaction('embeddings', 'readwrite'));
  const before = await tx.store.count(range);
  if (before <= threshold) {
    await tx.done;
    return { before, after: before };
  }
  // A text cached twice counts once, as readEmbeddings reads it (the later record wins).
  const byDimension = new Map<number, [string, { chunk: EmbeddingChunk; row: number }][]>();
  for (const entry of new CachedVectors(checkedChunks(await tx.store.getAll(range)).chunks).rowsOf()) {
    const rows = byDimension.get(entry[1].chunk.dimension) ?? [];
    rows.push(entry);
    byDimension.set(entry[1].chunk.dimension, rows);
  }
  await tx.store.delete(range);
  let after = 0;
  for (const [dimension, rows] of byDimension) {
    for (let start = 0; start < rows.length; start += perRecord) {
      const part = rows.slice(start, start + perRecord);
      const codes = new Int8Array(part.length * dimension);
      const scales = new Float32Array(part.length);
      part.forEach(([, { chunk, row }], k) => {
        codes.set(chunk.codes.subarray(row * dimension, (row + 1) * dimension), k * dimension);
        scales[k] = chunk.scales[row]!;
      });
      await tx.store.put({ modelId, chunkId: part[0]![0], textHashes: part.map(([hash]) => hash), dimension, codes, scales });
      after++;
    }
  }
  await tx.done;
  return { before, after };
}

/** Cached vectors and their approximate bytes per model id (what Settings offers to clear). */
export async function embeddingUsageByModel(db: RecsDatabase): Promise<Map<string, StoreUsage>> {
  const usage = new Map<string, StoreUsage>();
  for (const chunk of await settled(db.transaction('embeddings')).store.getAll()) {
    // A damaged record counts its bytes under its key's model id, whatever else it holds.
    const modelId = String((chunk as { modelId?: unknown } | null)?.modelId);
    const entry = usage.get(modelId) ?? { count: 0, bytes: 0 };
    entry.count += chunkRows(chunk);
    entry.bytes += chunkBytes(chunk);
    usage.set(modelId, entry);
  }
  return usage;
}

/** Deletes every cached vector of these models, in one transaction; returns what was freed. */
export async function deleteEmbeddingsOf(db: RecsDatabase, modelIds: readonly string[]): Promise<StoreUsage> {
  const freed = { count: 0, bytes: 0 };
  const tx = settled(db.transaction('embeddings', 'readwrite'));
  for (const modelId of modelIds) {
    const range = modelKeyRange(modelId);
    for (let cursor = await tx.store.openCursor(range); cursor; cursor = await cursor.continue()) {
      freed.count += chunkRows(cursor.value);
      freed.bytes += chunkBytes(cursor.value);
      await cursor.delete();
    }
  }
  await tx.done;
  return freed;
}

/** Drops the embedding cache (first to go when space runs short: it can be rebuilt). */
export async function clearEmbeddings(db: RecsDatabase): Promise<void> {
  await db.clear('embeddings');
}

/** Every embeddings record of one model (keys are [modelId, chunkId]). */
function modelKeyRange(modelId: string): IDBKeyRange {
  return IDBKeyRange.bound([modelId, ''], [modelId, '\uffff']);
}

/** The vectors a record says it holds (0 for one too damaged to say). */
function chunkRows(chunk: unknown): number {
  const textHashes = (chunk as { textHashes?: unknown } | null)?.textHashes;
  return Array.isArray(textHashes) ? textHashes.length : 0;
}

/** The records of one store that pass their check, damaged rows left out (see checkEmbeddingChunk). */
function checkedChunks(values: readonly unknown[]): { chunks: EmbeddingChunk[]; skippedRows: number } {
  const chunks: EmbeddingChunk[] = [];
  let skippedRows = 0;
  for (const value of values) {
    const checked = checkEmbeddingChunk(value);
    if (checked.chunk) chunks.push(checked.chunk);
    skippedRows += checked.skippedRows;
  }
  return { chunks, skippedRows };
}
