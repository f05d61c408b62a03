/**
 * A store opened in the page, used from the engine's worker. Chromium's Storage Access API gives the
 * granted IndexedDB to the page only (the handle of `requestStorageAccess({ indexedDB: true })`); the
 * engine runs in a worker, so the page opens the database through the handle (serveStorage) and the
 * worker reaches it over a MessagePort (remoteStore), with the same RecsStore interface as any store.
 * Values cross by structured clone: typed arrays and Maps as they are; the cached vectors as their
 * stored records, turned back into CachedVectors on the worker's side.
 */
import * as Comlink from 'comlink';
import type { FeedbackEvent } from '../core/events';
import { CachedVectors, IndexedDbStore, type EmbeddingChunk, type RecsStore, type StoredEmbedding, type StoredWeight } from './db';
import { HANDLE_OPEN_GIVE_UP_MS } from './fallback';

/** What crosses the port: RecsStore, with the cached vectors as plain records. */
export type BridgedStore = Omit<RecsStore, 'readEmbeddings' | 'close' | 'takeSkippedNotes'> & {
  readEmbeddingChunks(modelId: string): Promise<EmbeddingChunk[]>;
  takeSkippedNotes(): string[];
  close(): void;
};

/**
 * Opens the app's database in `factory` (e.g. a Storage Access handle's indexedDB) and serves it on
 * `port`. Rejects, serving nothing, when it does not open (refused, or no answer within HANDLE_OPEN_GIVE_UP_MS).
 */
export async function serveStorage(factory: IDBFactory, port: MessagePort): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const opening = askedFirst(factory).then(() => IndexedDbStore.open(undefined, { factory }));
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('IndexedDB did not open in time')), HANDLE_OPEN_GIVE_UP_MS)));
  const storage = await Promise.race([opening, timeout]).finally(() => clearTimeout(timer));
  const served: BridgedStore = {
    appendEvent: (event) => storage.appendEvent(event),
    listEvents: () => storage.listEvents(),
    deleteEvents: (ids) => storage.deleteEvents(ids),
    deleteEventsBetween: (from, to) => storage.deleteEventsBetween(from, to),
    importData: (data) => storage.importData(data),
    getEmbeddings: (modelId, hashes) => storage.getEmbeddings(modelId, hashes),
    readEmbeddingChunks: async (modelId) => chunksOf(await storage.readEmbeddings(modelId)),
    putEmbeddings: (records) => storage.putEmbeddings(records),
    compactEmbeddings: (modelId, options) => storage.compactEmbeddings(modelId, options),
    embeddingUsageByModel: () => storage.embeddingUsageByModel(),
    deleteEmbeddingsOf: (modelIds) => storage.deleteEmbeddingsOf(modelIds),
    clearEmbeddings: () => storage.clearEmbeddings(),
    listWeights: () => storage.listWeights(),
    putWeight: (weight) => storage.putWeight(weight),
    putWeights: (weights) => storage.putWeights(weights),
    putSettings: (values) => storage.putSettings(values),
    getSettings: () => storage.getSettings(),
    putSetting: (name, value) => storage.putSetting(name, value),
    sizes: () => storage.sizes(),
    takeSkippedNotes: () => storage.takeSkippedNotes(),
    close: () => storage.close(),
  };
  Comlink.expose(served, port);
}

/**
 * Lists the factory's databases before anything opens one. Where Chromium refuses the handle's storage
 * (third-party storage blocked, partitioning off: docs/widget.md), this rejects at once with the
 * refusal, and an open made after it is refused too; an open made first never answers. Where the
 * handle's storage is allowed it resolves, and the open goes on.
 */
async function askedFirst(factory: IDBFactory): Promise<void> {
  if (typeof factory.databases === 'function') await factory.databases();
}

/** The store served on the other end of `port` (see serveStorage), as a RecsStore. */
export function remoteStore(port: MessagePort): RecsStore {
  const remote = Comlink.wrap<BridgedStore>(port);
  return {
    appendEvent: (event: FeedbackEvent) => remote.appendEvent(event),
    listEvents: () => remote.listEvents(),
    deleteEvents: (ids: readonly number[]) => remote.deleteEvents(ids),
    deleteEventsBetween: (from: number, to: number) => remote.deleteEventsBetween(from, to),
    importData: (data) => remote.importData(data),
    getEmbeddings: (modelId: string, hashes?: readonly string[]) => remote.getEmbeddings(modelId, hashes),
    readEmbeddings: async (modelId: string) => new CachedVectors(await remote.readEmbeddingChunks(modelId)),
    putEmbeddings: (records: readonly StoredEmbedding[]) => remote.putEmbeddings(records),
    compactEmbeddings: (modelId, options) => remote.compactEmbeddings(modelId, options),
    embeddingUsageByModel: () => remote.embeddingUsageByModel(),
    deleteEmbeddingsOf: (modelIds: readonly string[]) => remote.deleteEmbeddingsOf(modelIds),
    clearEmbeddings: () => remote.clearEmbeddings(),
    listWeights: () => remote.listWeights(),
    putWeight: (weight: StoredWeight) => remote.putWeight(weight),
    putWeights: (weights: readonly StoredWeight[]) => remote.putWeights(weights),
    putSettings: (values) => remote.putSettings(values),
    getSettings: () => remote.getSettings(),
    putSetting: (name, value) => remote.putSetting(name, value),
    sizes: () => remote.sizes(),
    // Notes on damaged records are read by the engine synchronously; across a port there are none to give.
    takeSkippedNotes: () => [],
    close: () => {
      void remote.close().finally(() => remote[Comlink.releaseProxy]());
    },
  };
}

/**
 * The stored records behind a CachedVectors, each text once: a record some of whose texts a later one
 * overrides (see CachedVectors) crosses with only the rows it still wins, so order does not matter.
 */
function chunksOf(vectors: CachedVectors): EmbeddingChunk[] {
  const winning = new Map<EmbeddingChunk, number[]>();
  for (const [, { chunk, row }] of vectors.rowsOf()) {
    const rows = winning.get(chunk);
    if (rows) rows.push(row);
    else winning.set(chunk, [row]);
  }
  return [...winning].map(([chunk, rows]) => {
    if (rows.length === chunk.textHashes.length) return chunk;
    const { dimension } = chunk;
    const codes = new Int8Array(rows.length * dimension);
    rows.forEach((row, k) => codes.set(chunk.codes.subarray(row * dimension, (row + 1) * dimension), k * dimension));
    return { ...chunk, textHashes: rows.map((row) => chunk.textHashes[row]!), codes, scales: Float32Array.from(rows, (row) => chunk.scales[row]!) };
  });
}
