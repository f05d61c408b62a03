/**
 * The only code that touches IndexedDB, behind one class (IndexedDbStore) that implements the store
 * the engine uses (store.ts's RecsStore). One module per job:
 *  - idb/schema.ts: the typed schema and its versioned migrations; idb/open.ts: opening and deleting;
 *  - idb/events.ts, idb/embeddings.ts, idb/weights.ts, idb/settings.ts: each store's reads and writes
 *    (one transaction per write), every record checked as it is read (records.ts);
 *  - idb/sizes.ts: what each store holds (the Privacy panel); idb/settled.ts: transactions whose
 *    `done` is never an unhandled rejection.
 */
import type { FeedbackEvent } from '../core/events';
import type { CachedVectors } from './cached-vectors';
import * as embeddings from './idb/embeddings';
import * as events from './idb/events';
import { openDatabase, type OpenOptions } from './idb/open';
import { DB_NAME, type RecsDatabase } from './idb/schema';
import * as settings from './idb/settings';
import { storeSizes } from './idb/sizes';
import * as weights from './idb/weights';
import type {
  ImportedData,
  ListedEvents,
  RecsStore,
  SettingValue,
  StoredEmbedding,
  StoredEvent,
  StoredSettings,
  StoredWeight,
  StoreSizes,
  StoreUsage,
} from './store';

export { CachedVectors } from './cached-vectors';
export { deleteDatabase, type OpenOptions } from './idb/open';
export { DB_NAME, DB_VERSION, MIGRATIONS, type RecsSchema } from './idb/schema';
export {
  EMBEDDINGS_PER_COMPACT_RECORD,
  type EmbeddingChunk,
  type ImportedData,
  type ListedEvents,
  type RecsStore,
  type SettingValue,
  type StoredEmbedding,
  type StoredEvent,
  type StoredSettings,
  type StoredWeight,
  type StoreSizes,
  type StoreUsage,
} from './store';

export class IndexedDbStore implements RecsStore {
  private readonly skippedNotes: string[] = [];
  private readonly note = (note: string): void => {
    console.warn(`private-recs storage: ${note}.`);
    if (!this.skippedNotes.includes(note)) this.skippedNotes.push(note);
  };

  private constructor(private readonly db: RecsDatabase) {}

  static async open(name = DB_NAME, options: OpenOptions = {}): Promise<IndexedDbStore> {
    return new IndexedDbStore(await openDatabase(name, options));
  }

  /** The vector exactly as getEmbeddings will return it after putEmbeddings (see idb/embeddings.ts). */
  static asCached(vector: Float32Array): Float32Array {
    return embeddings.asCached(vector);
  }

  appendEvent(event: FeedbackEvent): Promise<StoredEvent> {
    return events.appendEvent(this.db, event);
  }
  listEvents(): Promise<ListedEvents> {
    return events.listEvents(this.db);
  }
  deleteEvents(ids: readonly number[]): Promise<void> {
    return events.deleteEvents(this.db, ids);
  }
  deleteEventsBetween(from: number, to: number): Promise<number> {
    return events.deleteEventsBetween(this.db, from, to);
  }
  importData(data: ImportedData): Promise<number> {
    return events.importData(this.db, data);
  }

  getEmbeddings(modelId: string, hashes?: readonly string[]): Promise<Map<string, Float32Array>> {
    return embeddings.getEmbeddings(this.db, this.note, modelId, hashes);
  }
  readEmbeddings(modelId: string): Promise<CachedVectors> {
    return embeddings.readEmbeddings(this.db, this.note, modelId);
  }
  putEmbeddings(records: readonly StoredEmbedding[]): Promise<void> {
    return embeddings.putEmbeddings(this.db, records);
  }
  compactEmbeddings(modelId: string, options?: { perRecord?: number; threshold?: number }): Promise<{ before: number; after: number }> {
    return embeddings.compactEmbeddings(this.db, modelId, options);
  }
  embeddingUsageByModel(): Promise<Map<string, StoreUsage>> {
    return embeddings.embeddingUsageByModel(this.db);
  }
  deleteEmbeddingsOf(modelIds: readonly string[]): Promise<StoreUsage> {
    return embeddings.deleteEmbeddingsOf(this.db, modelIds);
  }
  clearEmbeddings(): Promise<void> {
    return embeddings.clearEmbeddings(this.db);
  }

  listWeights(): Promise<StoredWeight[]> {
    return weights.listWeights(this.db, this.note);
  }
  putWeight(weight: StoredWeight): Promise<void> {
    return weights.putWeight(this.db, weight);
  }
  putWeights(values: readonly StoredWeight[]): Promise<void> {
    return weights.putWeights(this.db, values);
  }

  putSettings(values: Readonly<StoredSettings>): Promise<void> {
    return settings.putSettings(this.db, values);
  }
  getSettings(): Promise<StoredSettings> {
    return settings.getSettings(this.db, this.note);
  }
  putSetting(name: string, value: SettingValue): Promise<void> {
    return settings.putSetting(this.db, name, value);
  }

  sizes(): Promise<StoreSizes> {
    return storeSizes(this.db);
  }

  /**
   * What the reads since the last call left out as damaged (storage/records.ts), in words, each once:
   * the engine shows them as warnings. Taken, not peeked: a second call returns only newer notes.
   */
  takeSkippedNotes(): string[] {
    return this.skippedNotes.splice(0);
  }

  close(): void {
    this.db.close();
  }
}
