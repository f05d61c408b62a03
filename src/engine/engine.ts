/**
 * The engine: turns a catalog and a person's events into a ranked feed, on the device. Runs in the
 * worker; its browser-bound dependencies are injected (deps.ts) so the wiring stays in worker.ts.
 * This class is the one façade the worker exposes; each job is a module of this folder:
 *
 *   startup.ts           a visit's start: catalog and stored state read side by side, the first feed
 *   state.ts             what the modules share: catalog (core/catalog-index.ts), vectors, history, profile
 *   snapshot.ts          the one writer of the snapshot the UI mirrors, and of its warnings
 *   storage-policy.ts    IndexedDB or memory, the quota, the embedding cache
 *   encoders.ts          the text models: loads, one call at a time, the compute backend's failover
 *   embedding-pass.ts    the background reading of the catalog by the active text model
 *   prebuilt.ts          the publisher's precomputed vectors, checked before they are trusted
 *   encoder-switch.ts    a change of text model
 *   model-lifecycle.ts   the recommendation model: open, online steps, fine-tune, export, import
 *   search.ts            a query's words and meaning in the feed
 *   feed.ts              the feed: the model's ranking, else the content profile's
 *   events.ts            what the person does: views, clicks, likes, dislikes, genres
 *   history.ts           the history listed, deleted, exported, imported, erased
 *   tab-sync.ts          other tabs of the app kept in step
 */
import type { EventKind } from '../core/events';
import type { RecsStore, StoreUsage } from '../storage/db';
import type { ContributionMode, EncoderCache, EngineConfig, EngineSnapshot, HistoryEntry, ImportResult, ModelUpdatePlan, StorageReport } from './api';
import type { Contributor } from './contribute';
import type { EngineDeps } from './deps';
import { EmbeddingPass } from './embedding-pass';
import { EncoderSwitch } from './encoder-switch';
import { EncoderRunner } from './encoders';
import { EventRecorder } from './events';
import { Feed } from './feed';
import { UserHistory } from './history';
import { ModelLifecycle } from './model-lifecycle';
import type { EngineParts } from './parts';
import { PrebuiltVectors } from './prebuilt';
import { forgetScalePath, removeVectorFiles } from './scale';
import { keptCatalogUsage, storedTexts } from './scale-files';
import { Search } from './search';
import { Startup } from './startup';
import { EngineState } from './state';
import { StoragePolicy } from './storage-policy';
import { TabSync } from './tab-sync';
import { deferred, errorMessage } from './util';

export type { EngineDeps, EncoderLoadEvents } from './deps';
export type { TabMessage } from './tab-sync';
export { SETTING_ENCODER_ID } from './settings-keys';

export class Engine {
  private readonly parts: EngineParts;
  /**
   * Settles when start() has shown the first feed (or failed): an event on a card of the page's restored
   * feed (ui/engine-boot.ts) can arrive before the catalog is read, and waits for it here.
   */
  private readonly started = deferred();
  private readonly startup: Startup;
  private readonly events: EventRecorder;
  private readonly tabs: TabSync;
  /** "Contribute to the shared model": created once the settings can be read, where an aggregator is configured. */
  private contributor: Promise<Contributor> | undefined;

  constructor(private readonly deps: EngineDeps) {
    const state = new EngineState(deps);
    // The modules hold this object and reach each other through it once all are built.
    const parts = { state } as { -readonly [K in keyof EngineParts]: EngineParts[K] };
    parts.store = new StoragePolicy(state);
    parts.encoders = new EncoderRunner(state);
    parts.prebuilt = new PrebuiltVectors(parts);
    parts.search = new Search(parts);
    parts.feed = new Feed(parts);
    parts.model = new ModelLifecycle(parts);
    parts.embedding = new EmbeddingPass(parts);
    parts.switcher = new EncoderSwitch(parts);
    parts.history = new UserHistory(parts);
    this.parts = parts;
    this.events = new EventRecorder(parts, this.started.promise);
    this.tabs = new TabSync({
      get stopped() {
        return state.stopped;
      },
      get ready() {
        return state.view.current.phase === 'ready';
      },
      erasedElsewhere: () => {
        state.stop();
        // The erasing tab removes the catalog's vectors in OPFS once this worker lets go of them.
        forgetScalePath(state);
        state.view.update({ reloadReason: 'Your data was erased in another tab. Reload to start fresh.' });
      },
      rereadHistory: () => parts.history.changed(true),
      reopenModel: () => parts.model.reopenStored(),
    });
    this.startup = new Startup(parts, {
      firstFeedShown: () => {
        this.started.resolve();
        this.startContribution();
      },
      failed: (error) => this.started.reject(error),
      listenToTabs: () => deps.onTabMessage((message) => void this.tabs.onMessage(message)),
    });
  }

  // The visit

  async start(config: EngineConfig, listener: (snapshot: EngineSnapshot) => void): Promise<void> {
    this.parts.state.view.listen(listener);
    await this.startup.run(config);
  }

  // What the person does

  record(kind: EventKind, itemId: string): Promise<void> {
    return this.events.record(kind, itemId);
  }

  setGenre(genre: string, chosen: boolean): Promise<void> {
    return this.events.setGenre(genre, chosen);
  }

  /** Re-weights the feed toward a natural-language query (empty text clears it); a newer call supersedes an older one. */
  setQuery(text: string): Promise<void> {
    return this.parts.search.set(text);
  }

  /** 0 = most relevant first, 1 = as varied as possible. */
  async setDiversity(value: number): Promise<void> {
    if (!Number.isFinite(value)) throw new Error('Diversity must be a number between 0 and 1');
    const { state, feed } = this.parts;
    state.diversity = Math.min(1, Math.max(0, value));
    state.view.update({ diversity: state.diversity, feed: feed.rank() });
  }

  /** Widget mode: the item on the host's screen (an id the catalog lacks means no context, not an error). */
  async setContext(itemId: string | undefined): Promise<void> {
    const { state, feed } = this.parts;
    state.contextIndex = itemId === undefined ? undefined : state.catalog.indexOf(itemId);
    if (state.contextIndex !== undefined && !state.vectors.rows[state.contextIndex]) state.urgent.push(state.contextIndex);
    if (state.view.current.phase === 'ready') state.view.update({ feed: feed.rank() });
  }

  // The history and the user's data

  history(): Promise<HistoryEntry[]> {
    return this.parts.history.list();
  }

  deleteEvents(ids: number[]): Promise<void> {
    return this.parts.history.deleteEvents(ids);
  }

  deleteEventsBetween(from: number, to: number): Promise<number> {
    return this.parts.history.deleteEventsBetween(from, to);
  }

  exportData(): Promise<string> {
    return this.parts.history.exportData();
  }

  importData(text: string): Promise<ImportResult> {
    return this.parts.history.importData(text);
  }

  async eraseAll(): Promise<void> {
    const scaleStorage = this.deps.scaleStorage;
    try {
      await this.parts.history.eraseAll(async () => {
        await (await this.contributor?.catch(() => undefined))?.stop();
        // A large catalog's rows in OPFS: this worker's handles released before anything is removed.
        forgetScalePath(this.parts.state);
      });
    } finally {
      // Removed once the history's erase has sent 'erased', on which another tab holding them lets go
      // (removeVectorFiles tries at once, then again). The publisher's vectors, not the reader's data:
      // the history's erase does not wait for them, and a failed erase still removes them.
      if (scaleStorage) await removeVectorFiles(scaleStorage);
    }
  }

  // Storage

  async storageReport(): Promise<StorageReport> {
    const scaleStorage = this.deps.scaleStorage;
    const [sizes, measured, keptColumns] = await Promise.all([
      this.parts.store.db.sizes(),
      this.deps.measureStorage(),
      // The columns kept in OPFS, whichever catalog this visit reads (an old one's stay until erased).
      scaleStorage && keptCatalogUsage(scaleStorage).catch(() => undefined),
    ]);
    const scale = this.parts.state.scale;
    // A columns catalog's texts (its row shards) are the catalog's, shown with its columns, not with the vectors.
    const texts = scale?.rowFiles && storedTexts(scale.rowFiles);
    const vectorFiles = scale && { count: scale.storedRows(), bytes: scale.bytes() - (texts?.bytes ?? 0) };
    const keptCatalog = (keptColumns || texts) && {
      count: Math.max(keptColumns?.count ?? 0, texts?.count ?? 0),
      bytes: (keptColumns?.bytes ?? 0) + (texts?.bytes ?? 0),
    };
    return {
      history: sizes.events,
      embeddings: sizes.embeddings,
      weights: sizes.weights,
      settings: sizes.settings,
      ...measured,
      ...(vectorFiles ? { vectorFiles } : {}),
      ...(keptCatalog ? { keptCatalog } : {}),
    };
  }

  /**
   * Tries IndexedDB again (after the widget's "Remember my picks on this site" was granted): when it
   * opens, the records kept in memory this visit move into it and the history is re-read from it.
   * Says whether records are persisted now. `served`: a store opened elsewhere (the page's) to use instead.
   */
  async retryStorage(served?: RecsStore): Promise<boolean> {
    const { state, store, history } = this.parts;
    if (!store.db?.memoryReason || state.stopped) return !store.db?.memoryReason;
    if (!(await store.adoptDatabase(served))) return false;
    await history.changed();
    return true;
  }

  /** The page's answer to `persistenceWanted`: a large download waiting for it goes on. */
  async persistenceAnswered(): Promise<void> {
    this.parts.state.scale?.persistenceAnswered();
  }

  // Text models

  setEncoder(id: string): Promise<void> {
    return this.parts.switcher.setEncoder(id);
  }

  encoderCaches(): Promise<EncoderCache[]> {
    return this.parts.switcher.encoderCaches();
  }

  clearOtherEncoderCaches(): Promise<StoreUsage> {
    return this.parts.switcher.clearOtherEncoderCaches();
  }

  // The shared model

  planModelUpdate(): Promise<ModelUpdatePlan> {
    return this.parts.model.planUpdate();
  }

  exportModelUpdate(): Promise<{ bytes: Uint8Array<ArrayBuffer>; epsilonSpent: number }> {
    return this.parts.model.exportUpdate();
  }

  importGlobalModel(bytes: Uint8Array, name?: string): Promise<{ contributors?: number }> {
    return this.parts.model.importGlobal(bytes, name);
  }

  async setContributing(on: boolean, mode?: ContributionMode): Promise<void> {
    if (!this.contributor) throw new Error('No aggregator is configured for this app: nothing can be contributed.');
    await (await this.contributor).setEnabled(on, mode);
  }

  /** Reads the remembered consent (and starts contributing if it is on); sends nothing otherwise. */
  private startContribution(): void {
    const deployment = this.deps.contribution;
    if (!deployment || this.contributor) return;
    const { state, store, model } = this.parts;
    // Its own chunk: a deployment without an aggregator never loads it (the worker's first chunk stays smaller).
    this.contributor = import('./contribute').then(async ({ Contributor }) => {
      const contributor = new Contributor({
        ...deployment,
        // Only the shared parameters (local and global W, q, b, ranker): u, events and queries are not reachable from here.
        sharedState: () => model.personal?.sharedState(),
        importGlobal: (bytes, source) => this.importGlobalModel(bytes, source),
        readSettings: () => store.db.getSettings(),
        putSettings: (values) => store.db.putSettings(values),
        report: (contribution) => state.view.update({ contribution }),
      });
      await contributor.load();
      return contributor;
    });
    this.contributor.catch((error: unknown) => state.view.warnOnce({ code: 'contributionUnavailable', params: { message: errorMessage(error) } }));
  }
}
