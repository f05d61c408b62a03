/**
 * The user's data as a whole: the history listed, deleted, exported, imported (with the rule for an
 * imported model) and erased, and what every change of the history sets off.
 */
import { eventKey, parseExport, serializeExport, type UserDataExport } from '../core/export-format';
import type { StoredEvent } from '../storage/db';
import type { HistoryEntry, ImportResult } from './api';
import type { EngineParts } from './parts';
import { CACHE_WEIGHT_PREFIX, fileHasModelFor, settingsToImport } from './personal-model';
import { RESTORING_ACTIVITY } from './model-lifecycle';
import { genreSnapshot } from './genres';
import { PENDING_EVENT_ID } from './util';

export class UserHistory {
  constructor(private readonly p: EngineParts) {}

  async list(): Promise<HistoryEntry[]> {
    const { events, catalog } = this.p.state;
    return [...events]
      .filter((event) => event.id !== PENDING_EVENT_ID)
      .reverse()
      .map((event) => {
        // A genre choice names a genre, not a book: its title is the genre's name (the History panel labels the kind: "Chose a genre").
        if (event.kind === 'genre') return { id: event.id, kind: event.kind, itemId: event.itemId, at: event.at, title: event.itemId };
        const index = catalog.indexOf(event.itemId);
        return { id: event.id, kind: event.kind, itemId: event.itemId, at: event.at, title: index === undefined ? event.itemId : catalog.title(index) };
      });
  }

  async deleteEvents(ids: number[]): Promise<void> {
    await this.p.store.db.deleteEvents(ids);
    await this.changed();
  }

  async deleteEventsBetween(from: number, to: number): Promise<number> {
    const deleted = await this.p.store.db.deleteEventsBetween(from, to);
    await this.changed();
    return deleted;
  }

  /** Re-reads the history (changed here or in another tab), rebuilds the profile, the model's learning (here) and the feed. */
  async changed(fromOtherTab = false): Promise<void> {
    const { state, store, model, feed } = this.p;
    state.events = (await store.db.listEvents()).events;
    state.rebuildProfile();
    if (!fromOtherTab) await model.forgetDeleted();
    state.view.historyChanged(state.events.length, { ...genreSnapshot(state.catalog, state.events), feed: feed.rank() });
    if (!fromOtherTab) state.deps.broadcast({ type: 'model-changed' });
  }

  async exportData(): Promise<string> {
    const { state, store, model } = this.p;
    // The file holds the model that ranks the feed now: a fine-tune in flight ends first, and the online
    // steps since the last save (u is stored after each; q and b only with the whole model) are written.
    await model.saveForExport();
    const db = store.db;
    const [{ events }, weights, settings] = await Promise.all([db.listEvents(), db.listWeights(), db.getSettings()]);
    return serializeExport({
      exportedAt: new Date(state.deps.now()).toISOString(),
      events: events.map(({ kind, itemId, at }) => ({ kind, itemId, at })),
      settings,
      // Derived caches (W·e_i) are recomputed on import: 1.3 MB of nothing personal to carry.
      weights: weights
        .filter((w) => !w.name.startsWith(CACHE_WEIGHT_PREFIX))
        .map((w) => ({ name: w.name, version: w.version, shape: w.shape, values: Array.from(w.values) })),
    });
  }

  /**
   * Merges the file's history and settings; its model replaces this device's only under the rule of
   * fileModelApplies (then it is restored as exported, see restoreImportedModel), else the device's
   * model is kept and re-fitted on the merged history (and the file's model and its settings are not stored).
   */
  async importData(text: string): Promise<ImportResult> {
    const { store, model } = this.p;
    const data = parseExport(text); // throws ImportError before anything is written
    // Training in flight, or a model being opened, stores the model when it ends: let it end first, so
    // that it cannot overwrite the model the file brings.
    await model.settle();
    const restore = this.fileModelApplies(data, (await store.db.listEvents()).events);
    const added = await store.db.importData({
      events: data.events,
      settings: settingsToImport(data.settings, await store.db.getSettings(), restore),
      weights: restore ? data.weights.map((w) => ({ name: w.name, version: w.version, shape: w.shape, values: Float32Array.from(w.values) })) : [],
    });
    if (restore) await this.restoreImportedModel();
    else await this.changed();
    return { added, inFile: data.events.length };
  }

  /** Erases everything stored (after `stopFirst`); the engine stops writing for good. */
  async eraseAll(stopFirst: () => Promise<void>): Promise<void> {
    const { state, store } = this.p;
    state.stop();
    await stopFirst();
    store.db.close();
    // Where the browser refuses the database, there is none to delete (memory goes with the engine).
    const memoryOnly = store.db.memoryReason === 'unavailable';
    await state.deps.eraseEverything().catch((error: unknown) => {
      if (!memoryOnly) throw error;
    });
    state.events = [];
    state.deps.broadcast({ type: 'erased' });
    state.view.historyChanged(0, { phase: 'erased', feed: [], embedding: undefined });
  }

  /**
   * The rule for an imported model: the file's model (u, the local and global shared parameters, the
   * ranker) replaces this device's when it was trained for the text model and catalog in use and this
   * device's history holds nothing the file lacks (views aside: they teach the model nothing) — empty
   * after "Erase all my data", or older than the export. Otherwise the device's own model stays and is
   * re-fitted on the merged history: a newer local model is never silently replaced by an older file.
   */
  private fileModelApplies(data: UserDataExport, local: readonly StoredEvent[]): boolean {
    if (!fileHasModelFor(data, this.p.encoders.activeId, this.p.state.catalog.fingerprint())) return false;
    const inFile = new Set(data.events.map(eventKey));
    return local.every((event) => event.kind === 'view' || inFile.has(eventKey(event)));
  }

  /**
   * After an import whose model applies: the history is re-read and the model reopened from the
   * imported weights, as a returning visit opens it, and not re-fitted: the feed is the one exported.
   * It ranks once the catalog has its vectors; until every book has one (after an erase they are read
   * again, or come from the catalog's precomputed file) the status says so.
   */
  private async restoreImportedModel(): Promise<void> {
    const { state, store, model, feed } = this.p;
    state.events = (await store.db.listEvents()).events;
    state.rebuildProfile();
    model.beginRestore();
    state.view.historyChanged(state.events.length, { ...genreSnapshot(state.catalog, state.events), activity: RESTORING_ACTIVITY });
    state.deps.broadcast({ type: 'model-changed' });
    await model.maybeOpen();
    await model.opened();
    model.checkRestored();
    state.view.update({ feed: feed.rank() });
  }
}
