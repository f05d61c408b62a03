/**
 * Storage that degrades instead of failing. The engine holds one FallbackStore for the whole visit;
 * under it is the IndexedDB store, or, where the browser refuses or loses IndexedDB, a MemoryStorage:
 *  - refused at open (third-party storage blocked in a cross-site iframe, a private mode without
 *    IndexedDB, a policy, an upgrade blocked by another tab for too long): memory from the start;
 *  - lost while open (the browser closed or deleted the database: eviction, "Clear site data"):
 *    memory from then on, seeded with what the engine already had;
 *  - full (quota exceeded even after the engine dropped its caches): memory from then on, seeded with
 *    everything the database still reads back.
 * The database itself is never deleted or cleared because of an error: what was stored stays stored.
 * Later, `adopt` moves what memory holds into a database that became available (the widget's
 * "Remember my picks on this site" button).
 */
import type { FeedbackEvent } from '../core/events';
import type {
  CachedVectors,
  ImportedData,
  OpenOptions,
  RecsStore,
  SettingValue,
  StoreSizes,
  StoreUsage,
  StoredEmbedding,
  StoredEvent,
  StoredSettings,
  StoredWeight,
  ListedEvents,
} from './db';
import { MemoryStorage, type MemorySeed } from './memory';

import type { MemoryReason } from './memory-notices';
export { MEMORY_NOTICES, type MemoryReason } from './memory-notices';

/** How long an open may wait on another tab's old connection (the "blocked" event) before memory takes over. */
export const BLOCKED_GIVE_UP_MS = 5_000;
/**
 * How long an open may take at all: one that never answers must not hold the feed for ever. Generous:
 * a slow disk on a busy machine must not send a visit to memory by mistake.
 */
export const OPEN_GIVE_UP_MS = 30_000;
/**
 * The same for a Storage Access handle's IndexedDB. In Chromium with partitioning off, an open that is
 * the handle's first request never answers (storage/bridge.ts asks databases() first, which answers
 * with the refusal at once); this is the backstop for any other open that hangs.
 */
export const HANDLE_OPEN_GIVE_UP_MS = 10_000;

/**
 * Errors that mean the database is gone or refused, not that one request was wrong: the browser's
 * refusal ("The user denied permission to access the database": UnknownError in Chromium,
 * SecurityError elsewhere), a connection closed under us (InvalidStateError), a transaction aborted
 * by the browser (AbortError, as on eviction), a store missing from a deleted database (NotFoundError).
 */
export function isStorageLost(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return name === 'InvalidStateError' || name === 'AbortError' || name === 'UnknownError' || name === 'SecurityError' || name === 'NotFoundError';
}

export function isQuotaError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'QuotaExceededError';
}

export interface FallbackHooks {
  /** Memory took over (called once per switch). */
  onMemory(reason: MemoryReason, cause: unknown): void;
  /** The history as the engine holds it: seeds memory when the database can no longer be read. */
  recoverEvents(): StoredEvent[];
}

export class FallbackStore implements RecsStore {
  private inner: RecsStore;
  private why: MemoryReason | undefined;
  private switching: Promise<void> | undefined;

  constructor(
    inner: RecsStore,
    reason: MemoryReason | undefined,
    private readonly hooks: FallbackHooks,
  ) {
    this.inner = inner;
    this.why = reason;
  }

  /** Why records are kept in memory only; undefined while they go to IndexedDB. */
  get memoryReason(): MemoryReason | undefined {
    return this.why;
  }

  /**
   * Goes on in memory from now: seeded with what the current store still reads back (under a quota
   * error it reads fine), else with the engine's copy of the history. The database is left as it is.
   */
  keepInMemory(reason: MemoryReason, cause?: unknown): Promise<void> {
    if (this.why) return this.switching ?? Promise.resolve();
    this.why = reason;
    const old = this.inner;
    this.switching = (async () => {
      const seed: MemorySeed = {};
      try {
        seed.events = (await old.listEvents()).events;
      } catch {
        seed.events = this.hooks.recoverEvents();
      }
      seed.weights = await old.listWeights().catch(() => []);
      seed.settings = await old.getSettings().catch(() => ({}));
      this.inner = new MemoryStorage(seed);
      // A lost connection is let go; a full database stays open and readable (another tab may need it to upgrade).
      if (reason === 'lost') {
        try {
          old.close();
        } catch {
          // Already closed by the browser.
        }
      }
      this.hooks.onMemory(reason, cause);
    })();
    return this.switching;
  }

  /**
   * Moves the records kept in memory into `store` (a database that just became available) and goes
   * on there. Events already in it are not added twice (same kind, item and time); ids are the
   * database's afterwards, so the engine re-reads the history. Returns how many events were added.
   */
  async adopt(store: RecsStore): Promise<number> {
    await this.switching;
    const memory = this.inner;
    const [{ events }, weights, settings] = await Promise.all([memory.listEvents(), memory.listWeights(), memory.getSettings()]);
    const added = await store.importData({ events: events.map(({ kind, itemId, at }) => ({ kind, itemId, at })), weights, settings });
    this.inner = store;
    this.why = undefined;
    this.switching = undefined;
    return added;
  }

  /** Runs an operation; if the database is lost meanwhile, memory takes over and runs it instead. */
  private async run<T>(operation: (store: RecsStore) => Promise<T>): Promise<T> {
    const store = this.inner;
    try {
      return await operation(store);
    } catch (error) {
      // Started before any await: operations failing together switch once, and each waits for it.
      if (!this.why && isStorageLost(error)) void this.keepInMemory('lost', error);
      await this.switching;
      if (this.inner !== store) return operation(this.inner); // switched (here or meanwhile): run it there
      throw error;
    }
  }

  appendEvent(event: FeedbackEvent): Promise<StoredEvent> {
    return this.run((store) => store.appendEvent(event));
  }
  listEvents(): Promise<ListedEvents> {
    return this.run((store) => store.listEvents());
  }
  deleteEvents(ids: readonly number[]): Promise<void> {
    return this.run((store) => store.deleteEvents(ids));
  }
  deleteEventsBetween(from: number, to: number): Promise<number> {
    return this.run((store) => store.deleteEventsBetween(from, to));
  }
  importData(data: ImportedData): Promise<number> {
    return this.run((store) => store.importData(data));
  }
  getEmbeddings(modelId: string, hashes?: readonly string[]): Promise<Map<string, Float32Array>> {
    return this.run((store) => store.getEmbeddings(modelId, hashes));
  }
  readEmbeddings(modelId: string): Promise<CachedVectors> {
    return this.run((store) => store.readEmbeddings(modelId));
  }
  putEmbeddings(records: readonly StoredEmbedding[]): Promise<void> {
    return this.run((store) => store.putEmbeddings(records));
  }
  compactEmbeddings(modelId: string, options?: { perRecord?: number; threshold?: number }): Promise<{ before: number; after: number }> {
    return this.run((store) => store.compactEmbeddings(modelId, options));
  }
  embeddingUsageByModel(): Promise<Map<string, StoreUsage>> {
    return this.run((store) => store.embeddingUsageByModel());
  }
  deleteEmbeddingsOf(modelIds: readonly string[]): Promise<StoreUsage> {
    return this.run((store) => store.deleteEmbeddingsOf(modelIds));
  }
  clearEmbeddings(): Promise<void> {
    return this.run((store) => store.clearEmbeddings());
  }
  listWeights(): Promise<StoredWeight[]> {
    return this.run((store) => store.listWeights());
  }
  putWeight(weight: StoredWeight): Promise<void> {
    return this.run((store) => store.putWeight(weight));
  }
  putWeights(weights: readonly StoredWeight[]): Promise<void> {
    return this.run((store) => store.putWeights(weights));
  }
  putSettings(values: Readonly<StoredSettings>): Promise<void> {
    return this.run((store) => store.putSettings(values));
  }
  getSettings(): Promise<StoredSettings> {
    return this.run((store) => store.getSettings());
  }
  putSetting(name: string, value: SettingValue): Promise<void> {
    return this.run((store) => store.putSetting(name, value));
  }
  sizes(): Promise<StoreSizes> {
    return this.run((store) => store.sizes());
  }
  takeSkippedNotes(): string[] {
    return this.inner.takeSkippedNotes?.() ?? [];
  }
  close(): void {
    this.inner.close();
  }
}

/**
 * Opens the database through `open`, or gives memory when the browser refuses it, when another tab
 * blocks its upgrade for longer than BLOCKED_GIVE_UP_MS, or when the open never answers within
 * OPEN_GIVE_UP_MS. A database that opens after memory took over is closed again, untouched.
 */
export async function openOrMemory(
  open: (options: OpenOptions) => Promise<RecsStore>,
  options: OpenOptions,
  hooks: FallbackHooks,
  limits: { blockedMs?: number; openMs?: number } = {},
): Promise<FallbackStore> {
  let giveUp!: (reason: MemoryReason) => void;
  const gaveUp = new Promise<MemoryReason>((resolve) => (giveUp = resolve));
  const timers: ReturnType<typeof setTimeout>[] = [setTimeout(() => giveUp('unavailable'), limits.openMs ?? OPEN_GIVE_UP_MS)];
  const opening = open({
    ...options,
    onBlocked: () => {
      options.onBlocked?.();
      timers.push(setTimeout(() => giveUp('blocked'), limits.blockedMs ?? BLOCKED_GIVE_UP_MS));
    },
  });
  try {
    const outcome = await Promise.race([
      opening.then((store) => ({ store })),
      gaveUp.then((reason) => ({ reason, cause: new Error('IndexedDB did not open in time') })),
    ]);
    if ('store' in outcome) return new FallbackStore(outcome.store, undefined, hooks);
    opening.then((late) => late.close()).catch(() => undefined);
    return memoryFallback(outcome.reason, outcome.cause, hooks);
  } catch (error) {
    return memoryFallback('unavailable', error, hooks);
  } finally {
    timers.forEach(clearTimeout);
  }
}

function memoryFallback(reason: MemoryReason, cause: unknown, hooks: FallbackHooks): FallbackStore {
  const store = new FallbackStore(new MemoryStorage(), reason, hooks);
  hooks.onMemory(reason, cause);
  return store;
}
