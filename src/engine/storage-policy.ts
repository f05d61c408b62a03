/**
 * The engine's storage policy: IndexedDB, else memory for the visit (storage/fallback.ts); the history
 * is never dropped to make room, the embedding cache (rebuildable) goes first when the disk is full.
 */
import { IndexedDbStore, type OpenOptions, type RecsStore, type StoredEvent } from '../storage/db';
import { MEMORY_NOTICES, OPEN_GIVE_UP_MS, openOrMemory, type FallbackStore, type MemoryReason } from '../storage/fallback';
import type { EventKind } from '../core/events';
import type { StorageReport } from './api';
import type { EngineState } from './state';
import { errorMessage, isQuotaError, PENDING_EVENT_ID, STORAGE_FULL_WARNING } from './util';

/** Above this share of the origin's quota, caches are dropped. */
const QUOTA_SHORT_FRACTION = 0.9;
const RELOAD_FOR_OTHER_TAB = 'Another tab of this app updated or erased your data. Reload to continue.';

export class StoragePolicy {
  /** The records: IndexedDB, or memory where the browser refuses it (set by open). */
  db!: FallbackStore;
  /** While the quota is short the embedding cache is not written (it would be dropped first anyway). */
  private cacheEmbeddings = true;

  constructor(private readonly state: EngineState) {}

  get opened(): boolean {
    return this.db !== undefined;
  }

  /** Opens IndexedDB (or memory, saying why), with the engine's status lines for a blocked or closed database. */
  async open(): Promise<FallbackStore> {
    const view = this.state.view;
    this.db = await openOrMemory(
      (options) => this.state.deps.openStorage(options),
      {
        onBlocked: () => view.update({ activity: 'Waiting for another tab of this app to close or reload…' }),
        onClosedForOtherTab: () => view.update({ reloadReason: RELOAD_FOR_OTHER_TAB }),
        // Evicted or deleted under us: the visit goes on in memory, and the line says so before the next write fails.
        onTerminated: () => void this.db?.keepInMemory('lost', new Error('the browser closed the database')),
      },
      {
        onMemory: (reason: MemoryReason, cause: unknown) => {
          console.warn(`private-recs: keeping records in memory (${reason}): ${errorMessage(cause)}`);
          view.update({ storage: { persisted: false, reason, notice: MEMORY_NOTICES[reason] } });
        },
        recoverEvents: () => this.state.events.filter((event) => event.id !== PENDING_EVENT_ID),
      },
    );
    return this.db;
  }

  /**
   * Tries IndexedDB again (the widget's "Remember my picks on this site" granted): when it opens, the
   * records kept in memory this visit move into it. `served`: a store opened elsewhere (the page's,
   * through a Storage Access handle: storage/bridge.ts) to use instead. Says whether it was adopted.
   */
  async adoptDatabase(served?: RecsStore): Promise<boolean> {
    let opened: RecsStore;
    try {
      const options: OpenOptions = { onClosedForOtherTab: () => this.state.view.update({ reloadReason: RELOAD_FOR_OTHER_TAB }) };
      const opening = served ? Promise.resolve(served) : this.state.deps.openStorage(options);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('IndexedDB did not open in time')), OPEN_GIVE_UP_MS)));
      opened = await Promise.race([opening, timeout]).finally(() => clearTimeout(timer));
    } catch (error) {
      console.warn(`private-recs: IndexedDB is still unavailable: ${errorMessage(error)}`);
      return false;
    }
    await this.db.adopt(opened);
    this.state.view.update({ storage: { persisted: true } });
    return true;
  }

  /**
   * Appends an event; when the browser says the quota is exceeded, the embedding cache (rebuildable) is
   * dropped and the write retried once. History is never dropped to make room: if it still fails, the
   * visit goes on in memory and the notice says what is not kept.
   */
  async appendMakingRoom(event: { kind: EventKind; itemId: string; at: number }): Promise<StoredEvent> {
    try {
      return await this.db.appendEvent(event);
    } catch (error) {
      if (!isQuotaError(error)) throw error;
      await this.db.clearEmbeddings();
      this.cacheEmbeddings = false;
      this.state.view.warnOnce(STORAGE_FULL_WARNING);
      try {
        return await this.db.appendEvent(event);
      } catch (retryError) {
        if (!isQuotaError(retryError)) throw retryError;
        await this.db.keepInMemory('quota', retryError);
        return this.db.appendEvent(event);
      }
    }
  }

  /** Clears the embedding cache (and stops filling it) when the disk is nearly full; says whether it did. */
  async checkQuota(estimateLoad: Promise<StorageReport['estimate']>): Promise<boolean> {
    const estimate = await estimateLoad;
    if (!estimate || estimate.quota === 0 || estimate.usage / estimate.quota < QUOTA_SHORT_FRACTION) return false;
    await this.db.clearEmbeddings();
    this.cacheEmbeddings = false;
    this.state.view.warnOnce(STORAGE_FULL_WARNING);
    return true;
  }

  /**
   * Stores one batch's vectors under their model, and returns them as a reload will read them back
   * (int8): ranking with the slightly finer fresh ones could swap near-tied books across a reload.
   */
  async cacheVectors(modelId: string, batch: readonly number[], vectors: Float32Array[]): Promise<Float32Array[]> {
    if (!this.cacheEmbeddings) return vectors;
    const catalog = this.state.catalog;
    try {
      await this.db.putEmbeddings(batch.map((index, i) => ({ modelId, textHash: catalog.textHash(index), vector: vectors[i]! })));
    } catch (error) {
      // A full disk: the cache (rebuildable) stops growing; the vectors still rank this visit.
      if (!isQuotaError(error)) throw error;
      this.cacheEmbeddings = false;
      await this.db.clearEmbeddings().catch(() => undefined); // room for the history; as the warning says
      this.state.view.warnOnce(STORAGE_FULL_WARNING);
      return vectors;
    }
    return vectors.map((vector) => IndexedDbStore.asCached(vector));
  }

  /** Stores vectors in records of `chunk` rows, unless the cache is off; a failure is the caller's to handle. */
  async cacheInChunks(modelId: string, rows: readonly { index: number; vector: Float32Array }[], chunk: number): Promise<void> {
    if (!this.cacheEmbeddings) return;
    const catalog = this.state.catalog;
    for (let start = 0; start < rows.length; start += chunk) {
      const slice = rows.slice(start, start + chunk);
      await this.db.putEmbeddings(slice.map(({ index, vector }) => ({ modelId, textHash: catalog.textHash(index), vector })));
    }
  }

  /**
   * Merges the cache's per-batch records into large ones `delayMs` from now, unless `stillActive` says
   * the model was switched away meanwhile: an optimisation, so a failure is only logged.
   */
  compactSoon(modelId: string, delayMs: number, stillActive: () => boolean): void {
    setTimeout(() => {
      if (this.state.stopped || !stillActive()) return;
      Promise.resolve()
        .then(() => this.db.compactEmbeddings(modelId))
        .catch((error: unknown) => console.warn(`The embedding cache was not compacted: ${errorMessage(error)}`));
    }, delayMs);
  }

  /** Records the database reads left out as damaged (storage/records.ts), as warnings: skipped, never trusted. */
  reportSkippedRecords(): void {
    for (const note of this.db?.takeSkippedNotes?.() ?? []) this.state.view.warnOnce({ code: 'storedDataSkipped', params: { note } });
  }
}
