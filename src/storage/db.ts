/**
 * The only module that touches IndexedDB. A typed schema (idb's DBSchema), versioned migrations,
 * one transaction per write. Stores:
 *  - events: the user's history, append-only with a monotonic id (autoIncrement);
 *  - embeddings: cache of text vectors by model id and text hash, packed per encoded batch;
 *  - weights: the personal model's parameters, by name, versioned;
 *  - settings: the user's choices, by name;
 *  - meta: facts about the database itself (schema version, last quota check).
 */
import { openDB, wrap, type DBSchema, type IDBPDatabase, type IDBPTransaction, type OpenDBCallbacks, type StoreNames } from 'idb';
import type { FeedbackEvent } from '../core/events';
import { eventKey } from '../core/export-format';
import { dequantizeRow, dequantizeRowInto, quantizeRows } from '../core/quantize';
import { checkEmbeddingChunk, checkSettings, isValidEventRecord, isValidWeightRecord } from './records';

export const DB_NAME = 'private-recs';

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
 * hashes and their vectors packed row after row, as int8 with a scale per row. Measured in Chromium
 * here (10,000 USE vectors): one float32 record per item took ~1.3 s to read back, packed float32
 * batches ~1.1 s, packed int8 (a quarter of the bytes) ~0.6 s.
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

export interface RecsSchema extends DBSchema {
  events: {
    key: number;
    value: StoredEvent;
    indexes: { 'by-item': string; 'by-time': number; 'by-kind': string };
  };
  embeddings: {
    key: [string, string];
    value: EmbeddingChunk;
  };
  weights: {
    key: string;
    value: StoredWeight;
  };
  settings: {
    key: string;
    value: unknown;
  };
  meta: {
    key: string;
    value: unknown;
  };
}

type UpgradeTransaction = IDBPTransaction<RecsSchema, StoreNames<RecsSchema>[], 'versionchange'>;
type Migration = (database: IDBPDatabase<RecsSchema>, transaction: UpgradeTransaction) => void;

/**
 * MIGRATIONS[v - 1] upgrades a database from version v - 1 to v. Never edit a shipped step: add one.
 * Each is tested by opening a database written by the previous version, with data in it.
 */
export const MIGRATIONS: readonly Migration[] = [
  // v1: history, embedding cache, meta.
  (database) => {
    const events = database.createObjectStore('events', { keyPath: 'id', autoIncrement: true });
    events.createIndex('by-item', 'itemId');
    events.createIndex('by-time', 'at');
    database.createObjectStore('embeddings', { keyPath: ['modelId', 'chunkId'] });
    database.createObjectStore('meta');
  },
  // v2: personal model weights and settings get stores of their own; history is queryable by kind.
  (database, transaction) => {
    database.createObjectStore('weights', { keyPath: 'name' });
    database.createObjectStore('settings');
    transaction.objectStore('events').createIndex('by-kind', 'kind');
  },
];

export const DB_VERSION = MIGRATIONS.length;

export interface OpenOptions {
  /** Another tab holds an older version open and has not let go yet. */
  onBlocked?: () => void;
  /** This connection was closed so that another tab could upgrade or erase the database. */
  onClosedForOtherTab?: () => void;
  /** The browser closed the connection on its own (the database was evicted or deleted, the disk failed). */
  onTerminated?: () => void;
  /**
   * The IndexedDB to open it in, when not the global one: a Storage Access handle's (Chromium's
   * `requestStorageAccess({ indexedDB: true })` gives the page a factory of its own).
   */
  factory?: IDBFactory;
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
 * One model's cached vectors as read from the store: int8 rows and their scales, by text hash. A
 * returning visit decodes 10,000 of them into the catalog's matrix at once; one Float32Array per
 * vector and then a copy into that matrix took ~60 ms more of the worker's time before the first feed.
 */
export class CachedVectors {
  private readonly rows = new Map<string, { chunk: EmbeddingChunk; row: number }>();
  /** Vectors left out because their record was damaged (storage/records.ts): they are embedded again. */
  skippedRows = 0;

  static empty(): CachedVectors {
    return new CachedVectors([]);
  }

  /** Built by IndexedDbStore from the chunks it read (see readEmbeddings). */
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

/**
 * What the engine needs of a store: the IndexedDB one (IndexedDbStore) and the in-memory one (memory.ts,
 * used where the browser refuses or loses IndexedDB) both provide it, so nothing else changes with them.
 */
export interface RecsStore {
  appendEvent(event: FeedbackEvent): Promise<StoredEvent>;
  listEvents(): Promise<ListedEvents>;
  deleteEvents(ids: readonly number[]): Promise<void>;
  deleteEventsBetween(from: number, to: number): Promise<number>;
  importData(data: { events: readonly FeedbackEvent[]; weights: readonly StoredWeight[]; settings: Record<string, unknown> }): Promise<number>;
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
  putSettings(values: Record<string, unknown>): Promise<void>;
  getSettings(): Promise<Record<string, unknown>>;
  putSetting(name: string, value: unknown): Promise<void>;
  sizes(): Promise<StoreSizes>;
  /** Notes on damaged records the reads left out (IndexedDB only: memory holds nothing damaged). */
  takeSkippedNotes?(): string[];
  close(): void;
}

export class IndexedDbStore implements RecsStore {
  private constructor(private readonly db: IDBPDatabase<RecsSchema>) {}

  static async open(name = DB_NAME, options: OpenOptions = {}): Promise<IndexedDbStore> {
    const open = options.factory ? openDBIn(options.factory) : openDB<RecsSchema>;
    const db = await open(name, DB_VERSION, {
      upgrade(database, oldVersion, newVersion, transaction) {
        for (let version = oldVersion + 1; version <= (newVersion ?? DB_VERSION); version++) {
          MIGRATIONS[version - 1]!(database, transaction);
        }
        void transaction.objectStore('meta').put(newVersion ?? DB_VERSION, 'schemaVersion');
      },
      blocked: () => options.onBlocked?.(),
      blocking: () => {
        // A newer tab wants to upgrade (or erase): step aside instead of blocking it.
        db.close();
        options.onClosedForOtherTab?.();
      },
      terminated: () => options.onTerminated?.(),
    });
    return new IndexedDbStore(db);
  }

  /** Appends one event; returns it with its id. */
  async appendEvent(event: FeedbackEvent): Promise<StoredEvent> {
    const record = { kind: event.kind, itemId: event.itemId, at: event.at } as StoredEvent;
    const id = await this.db.add('events', record);
    return { ...record, id };
  }

  /** The whole history, oldest first. Records that fail to decode are skipped and counted. */
  async listEvents(): Promise<ListedEvents> {
    const all: unknown[] = await settled(this.db.transaction('events')).store.getAll();
    const events = all.filter(isValidEvent);
    return { events, skipped: all.length - events.length };
  }

  async deleteEvents(ids: readonly number[]): Promise<void> {
    const tx = settled(this.db.transaction('events', 'readwrite'));
    await Promise.all([...ids.map((id) => tx.store.delete(id)), tx.done]);
  }

  /** Deletes every event with from ≤ at ≤ to; returns how many. */
  async deleteEventsBetween(from: number, to: number): Promise<number> {
    const tx = settled(this.db.transaction('events', 'readwrite'));
    let deleted = 0;
    for (let cursor = await tx.store.index('by-time').openCursor(IDBKeyRange.bound(from, to)); cursor; cursor = await cursor.continue()) {
      await cursor.delete();
      deleted++;
    }
    await tx.done;
    return deleted;
  }

  /**
   * Adds imported events, weights and settings in one transaction: events already present (same
   * kind, item and time) are not added twice. Returns how many events were new.
   */
  async importData(data: { events: readonly FeedbackEvent[]; weights: readonly StoredWeight[]; settings: Record<string, unknown> }): Promise<number> {
    const tx = settled(this.db.transaction(['events', 'weights', 'settings'], 'readwrite'));
    const existing = new Set((await tx.objectStore('events').getAll()).filter(isValidEvent).map(eventKey));
    let added = 0;
    for (const event of [...data.events].sort((a, b) => a.at - b.at)) {
      const key = eventKey(event);
      if (existing.has(key)) continue;
      existing.add(key);
      await tx.objectStore('events').add({ kind: event.kind, itemId: event.itemId, at: event.at } as StoredEvent);
      added++;
    }
    for (const weight of data.weights) await tx.objectStore('weights').put(weight);
    for (const [name, value] of Object.entries(data.settings)) await tx.objectStore('settings').put(value, name);
    await tx.done;
    return added;
  }

  /**
   * Cached vectors under one model, by text hash: for these hashes (missing ones are absent from the
   * map), or every one stored when `hashes` is left out.
   */
  async getEmbeddings(modelId: string, hashes?: readonly string[]): Promise<Map<string, Float32Array>> {
    const table = await this.readEmbeddings(modelId);
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
  async readEmbeddings(modelId: string): Promise<CachedVectors> {
    const range = modelKeyRange(modelId);
    const { chunks, skippedRows } = checkedChunks(await settled(this.db.transaction('embeddings')).store.getAll(range));
    const table = new CachedVectors(chunks);
    table.skippedRows = skippedRows;
    if (skippedRows > 0) this.noteSkipped(`${skippedRows} cached text ${skippedRows === 1 ? 'vector was' : 'vectors were'} damaged and will be computed again`);
    return table;
  }

  /**
   * The vector exactly as getEmbeddings will return it after putEmbeddings (int8, one scale per row).
   * Code that ranks with a fresh vector uses this form, so that near-ties break the same way before a
   * reload and after it.
   */
  static asCached(vector: Float32Array): Float32Array {
    const { codes, scales } = quantizeRows([vector], vector.length);
    return dequantizeRow(codes, scales, 0, vector.length);
  }

  /** Stores one batch of vectors (all of one model and dimension) as one record, in one transaction. */
  async putEmbeddings(records: readonly StoredEmbedding[]): Promise<void> {
    const first = records[0];
    if (!first) return;
    const dimension = first.vector.length;
    for (const record of records) {
      if (record.modelId !== first.modelId || record.vector.length !== dimension) {
        throw new RangeError('one batch of embeddings must share its model and dimension');
      }
    }
    const { codes, scales } = quantizeRows(records.map((record) => record.vector), dimension);
    await this.db.put('embeddings', {
      modelId: first.modelId,
      chunkId: first.textHash,
      textHashes: records.map((record) => record.textHash),
      dimension,
      codes,
      scales,
    });
  }

  /**
   * Merges one model's cached vectors into records of up to `perRecord` vectors each, when they lie in
   * more than `threshold` records; the int8 rows and scales are copied, so every vector reads back
   * bit for bit as before. The catalog is cached as it is read, one record per batch of 32: read back
   * on every returning visit, 313 such records (10,000 vectors) took 273–297 ms in Chromium on the
   * machine of docs/benchmarks.md runs AF, 40 records of 256 vectors 125–128 ms, one of 10,000 83–84 ms.
   * One transaction: a tab closed midway leaves the records as they were. Returns the record counts.
   */
  async compactEmbeddings(modelId: string, { perRecord = EMBEDDINGS_PER_COMPACT_RECORD, threshold = 16 } = {}): Promise<{ before: number; after: number }> {
    const range = modelKeyRange(modelId);
    const tx = settled(this.db.transaction('embeddings', 'readwrite'));
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
  async embeddingUsageByModel(): Promise<Map<string, StoreUsage>> {
    const usage = new Map<string, StoreUsage>();
    for (const chunk of await settled(this.db.transaction('embeddings')).store.getAll()) {
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
  async deleteEmbeddingsOf(modelIds: readonly string[]): Promise<StoreUsage> {
    const freed = { count: 0, bytes: 0 };
    const tx = settled(this.db.transaction('embeddings', 'readwrite'));
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
  async clearEmbeddings(): Promise<void> {
    await this.db.clear('embeddings');
  }

  /** The stored weights that pass their check (storage/records.ts); the rest are skipped and noted. */
  async listWeights(): Promise<StoredWeight[]> {
    const all: unknown[] = await settled(this.db.transaction('weights')).store.getAll();
    const weights = all.filter((value) => isValidWeightRecord(value)) as StoredWeight[];
    const skipped = all.length - weights.length;
    if (skipped > 0) this.noteSkipped(`${skipped} stored model ${skipped === 1 ? 'parameter was' : 'parameters were'} damaged and ignored`);
    return weights;
  }

  async putWeight(weight: StoredWeight): Promise<void> {
    await this.db.put('weights', weight);
  }

  /** Writes several weights in one transaction: a model is never stored half old, half new. */
  async putWeights(weights: readonly StoredWeight[]): Promise<void> {
    const tx = settled(this.db.transaction('weights', 'readwrite'));
    await Promise.all([...weights.map((weight) => tx.store.put(weight)), tx.done]);
  }

  /** Writes several settings in one transaction. */
  async putSettings(values: Record<string, unknown>): Promise<void> {
    const tx = settled(this.db.transaction('settings', 'readwrite'));
    await Promise.all([...Object.entries(values).map(([name, value]) => tx.store.put(value, name)), tx.done]);
  }

  async getSettings(): Promise<Record<string, unknown>> {
    const tx = settled(this.db.transaction('settings'));
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
    // Checked like an imported setting: a damaged or hand-made value is left out (the app's default then).
    const { settings, skipped } = checkSettings(keys, values);
    if (skipped.length > 0) this.noteSkipped(`${skipped.length === 1 ? 'a stored setting was' : `${skipped.length} stored settings were`} damaged and ignored (${skipped.slice(0, 3).join(', ')})`);
    return settings;
  }

  /**
   * What the reads since the last call left out as damaged (storage/records.ts), in words, each once:
   * the engine shows them as warnings. Taken, not peeked: a second call returns only newer notes.
   */
  takeSkippedNotes(): string[] {
    return this.skippedNotes.splice(0);
  }

  private readonly skippedNotes: string[] = [];

  private noteSkipped(note: string): void {
    console.warn(`private-recs storage: ${note}.`);
    if (!this.skippedNotes.includes(note)) this.skippedNotes.push(note);
  }

  async putSetting(name: string, value: unknown): Promise<void> {
    await this.db.put('settings', value, name);
  }

  /** Record counts and approximate sizes per store (values measured as stored, keys ignored). */
  async sizes(): Promise<StoreSizes> {
    const tx = settled(this.db.transaction(['events', 'embeddings', 'weights', 'settings']));
    const [events, chunks, weights, settings, settingKeys] = await Promise.all([
      tx.objectStore('events').getAll(),
      tx.objectStore('embeddings').getAll(),
      tx.objectStore('weights').getAll(),
      tx.objectStore('settings').getAll(),
      tx.objectStore('settings').getAllKeys(),
    ]);
    await tx.done;
    // Every record is measured, damaged ones too (they take space); only those that pass the reads'
    // checks (storage/records.ts) are counted, as the reads count them. Nothing here may throw on a
    // damaged record: the Privacy panel's table is how a user sees what is stored.
    const jsonBytes = (values: unknown[]) => values.reduce<number>((sum, value) => sum + jsonLength(value), 0);
    const validChunks = chunks.map((chunk) => checkEmbeddingChunk(chunk).chunk).filter((chunk) => chunk !== undefined);
    const validEvents = events.filter(isValidEventRecord).length;
    const validWeights = (weights as unknown[]).filter((weight) => isValidWeightRecord(weight)).length;
    const settingsKept = Object.keys(checkSettings(settingKeys, settings).settings).length;
    return {
      events: withInvalid(validEvents, jsonBytes(events), events.length),
      embeddings: withInvalid(
        validChunks.reduce((sum, c) => sum + c.textHashes.length, 0),
        chunks.reduce((sum, c) => sum + chunkBytes(c), 0),
        chunks.length,
        validChunks.length,
      ),
      weights: withInvalid(validWeights, (weights as unknown[]).reduce<number>((sum, w) => sum + weightBytes(w), 0), weights.length),
      settings: withInvalid(settingsKept, jsonBytes(settings), settings.length),
    };
  }

  close(): void {
    this.db.close();
  }
}

/** idb's openDB, in the given IndexedDB instead of the global one (same events, same wrapping). */
/**
 * A transaction whose `done` can never be an unhandled rejection: idb makes that promise for every
 * transaction, and when the browser deletes the database while it is open the transaction aborts, so
 * `done` rejects beside the request that fails (which the caller handles; FallbackStore then goes on
 * in memory). Callers that await `done` still see the error.
 */
function settled<T extends { done: Promise<void> }>(tx: T): T {
  tx.done.catch(() => undefined);
  return tx;
}

function openDBIn(factory: IDBFactory) {
  return (name: string, version: number, { blocked, upgrade, blocking, terminated }: OpenDBCallbacks<RecsSchema>): Promise<IDBPDatabase<RecsSchema>> => {
    const request = factory.open(name, version);
    const opening = wrap(request) as Promise<IDBPDatabase<RecsSchema>>;
    request.addEventListener('upgradeneeded', (event) => {
      upgrade?.(wrap(request.result) as IDBPDatabase<RecsSchema>, event.oldVersion, event.newVersion, wrap(request.transaction!) as unknown as UpgradeTransaction, event);
    });
    request.addEventListener('blocked', (event) => blocked?.(event.oldVersion, (event as IDBVersionChangeEvent).newVersion, event as IDBVersionChangeEvent));
    opening
      .then((db) => {
        if (terminated) db.addEventListener('close', () => terminated());
        if (blocking) db.addEventListener('versionchange', (event) => blocking(event.oldVersion, event.newVersion, event));
      })
      .catch(() => undefined);
    return opening;
  };
}

/** Deletes the whole database. Other tabs' connections close themselves (see `blocking`). */
export async function deleteDatabase(name = DB_NAME): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error('could not delete the database'));
  });
}

/** Stored bytes of one chunk: the int8 codes, the scales, and about 16 bytes per text hash. */
/** Every embeddings record of one model (keys are [modelId, chunkId]). */
function modelKeyRange(modelId: string): IDBKeyRange {
  return IDBKeyRange.bound([modelId, ''], [modelId, '\uffff']);
}

/** Stored bytes of a record of any shape: typed arrays by their length, anything else as JSON. */
function chunkBytes(chunk: unknown): number {
  const { codes, scales, textHashes } = (chunk ?? {}) as { codes?: unknown; scales?: unknown; textHashes?: unknown };
  if (!ArrayBuffer.isView(codes) || !ArrayBuffer.isView(scales)) return jsonLength(chunk);
  return codes.byteLength + scales.byteLength + (Array.isArray(textHashes) ? textHashes.length * 16 : 0);
}

/** The vectors a record says it holds (0 for one too damaged to say). */
function chunkRows(chunk: unknown): number {
  const textHashes = (chunk as { textHashes?: unknown } | null)?.textHashes;
  return Array.isArray(textHashes) ? textHashes.length : 0;
}

function weightBytes(weight: unknown): number {
  const values = (weight as { values?: unknown } | null)?.values;
  return ArrayBuffer.isView(values) ? values.byteLength : jsonLength(weight);
}

/** JSON length of a stored value; 0 for one JSON cannot write (a BigInt, a cycle: IndexedDB stores both). */
function jsonLength(value: unknown): number {
  try {
    return (JSON.stringify(value ?? null) ?? '').length;
  } catch {
    return 0;
  }
}

function withInvalid(count: number, bytes: number, records: number, validRecords = count): StoreUsage {
  const invalid = records - validRecords;
  return invalid > 0 ? { count, bytes, invalid } : { count, bytes };
}

function isValidEvent(value: unknown): value is StoredEvent {
  return isValidEventRecord(value);
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
