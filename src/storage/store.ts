/**
 * What the engine needs of a store, and the records it reads and writes: the IndexedDB store
 * (db.ts) and the in-memory one (memory.ts, used where the browser refuses or loses IndexedDB) both
 * provide it, so nothing else changes with them.
 */
import type { FeedbackEvent } from '../core/events';
import type { settingValueSchema } from '../core/export-format';
import type { z } from '../core/schema';
import type { CachedVectors } from './cached-vectors';
import { quantizeRows } from '../core/quantize';

export interface StoredEvent extends FeedbackEvent {
  /** Monotonic, assigned by IndexedDB. */
  id: number;
}

export interface StoredEmbedding {
  modelId: string;
  textHash: string;
  vector: Float32Array;
}

export interface StoredWeight {
  name: string;
  version: number;
  shape: number[];
  values: Float32Array;
  /** For a cache derived from other data: names what it was derived from. */
  key?: string;
}

/** Vectors per record once a model's cache is compacted (IndexedDbStore.compactEmbeddings): 512 KB at 512-d. */
export const EMBEDDINGS_PER_COMPACT_RECORD = 1024;

/**
 * One encoded batch (or, once compacted, up to EMBEDDINGS_PER_COMPACT_RECORD vectors): its text
 * hashes and their vectors packed row after row, as int8 with a scale per row (a quarter of float32's
 * bytes, and one record per batch rather than per item: both read back faster on a returning visit).
 */
export interface EmbeddingChunk {
  modelId: string;
  /** The first text hash of the batch; unique because a text is embedded once per model. */
  chunkId: string;
  textHashes: string[];
  dimension: number;
  /** Int8 rows; row r decodes as codes[r][j] * scales[r] (see core/quantize.ts). */
  codes: Int8Array;
  scales: Float32Array;
}

/**
 * One batch of vectors (all of one model and dimension) as the record both stores keep: int8 rows with
 * a scale each, keyed by the batch's first text hash. Undefined for an empty batch.
 */
export function chunkOfBatch(records: readonly StoredEmbedding[]): EmbeddingChunk | undefined {
  const first = records[0];
  if (!first) return undefined;
  const dimension = first.vector.length;
  for (const record of records) {
    if (record.modelId !== first.modelId || record.vector.length !== dimension) {
      throw new RangeError('one batch of embeddings must share its model and dimension');
    }
  }
  const { codes, scales } = quantizeRows(
    records.map((record) => record.vector),
    dimension,
  );
  return { modelId: first.modelId, chunkId: first.textHash, textHashes: records.map((record) => record.textHash), dimension, codes, scales };
}

export interface ListedEvents {
  events: StoredEvent[];
  /** Records that failed to decode (corrupted), skipped so the rest still loads. */
  skipped: number;
}

/** How many records a store holds and about how many bytes. */
export interface StoreUsage {
  count: number;
  bytes: number;
  /** Records that fail their check (storage/records.ts): in `bytes`, not in `count`. */
  invalid?: number;
}

export interface StoreSizes {
  events: StoreUsage;
  embeddings: StoreUsage;
  weights: StoreUsage;
  settings: StoreUsage;
}

/**
 * A setting's stored value: a flat scalar or a list of them, as the export format allows (export-format.ts
 * checks it there; records.ts checks it on every read). The keys the engine writes, and their types, are
 * engine/settings-keys.ts's; the store keeps any name an import brings.
 */
export type SettingValue = z.infer<typeof settingValueSchema>;
/** Settings by name. */
export type StoredSettings = Record<string, SettingValue>;

/** What an import adds: events (not twice), weights and settings. */
export interface ImportedData {
  events: readonly FeedbackEvent[];
  weights: readonly StoredWeight[];
  settings: Readonly<StoredSettings>;
}

export interface RecsStore {
  appendEvent(event: FeedbackEvent): Promise<StoredEvent>;
  listEvents(): Promise<ListedEvents>;
  deleteEvents(ids: readonly number[]): Promise<void>;
  deleteEventsBetween(from: number, to: number): Promise<number>;
  importData(data: ImportedData): Promise<number>;
  getEmbeddings(modelId: string, hashes?: readonly string[]): Promise<Map<string, Float32Array>>;
  readEmbeddings(modelId: string): Promise<CachedVectors>;
  putEmbeddings(records: readonly StoredEmbedding[]): Promise<void>;
  compactEmbeddings(modelId: string, options?: { perRecord?: number; threshold?: number }): Promise<{ before: number; after: number }>;
  embeddingUsageByModel(): Promise<Map<string, StoreUsage>>;
  deleteEmbeddingsOf(modelIds: readonly string[]): Promise<StoreUsage>;
  clearEmbeddings(): Promise<void>;
  listWeights(): Promise<StoredWeight[]>;
  putWeight(weight: StoredWeight): Promise<void>;
  putWeights(weights: readonly StoredWeight[]): Promise<void>;
  putSettings(values: Readonly<StoredSettings>): Promise<void>;
  getSettings(): Promise<StoredSettings>;
  putSetting(name: string, value: SettingValue): Promise<void>;
  sizes(): Promise<StoreSizes>;
  /** Notes on damaged records the reads left out (IndexedDB only: memory holds nothing damaged). */
  takeSkippedNotes?(): string[];
  close(): void;
}
