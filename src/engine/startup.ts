/**
 * A visit's start: the catalog fetched and validated while the history, settings and cached vectors
 * are read; the first feed (no ML runtime needed); then the compute backend and the background reading.
 */
import { parseCatalog, parseCatalogText } from '../core/catalog';
import { CatalogIndex } from '../core/catalog-index';
import { USE_LITE_SPEC } from '../core/encoder-registry';
import { CachedVectors } from '../storage/db';
import type { EngineConfig, EngineWarning } from './api';
import type { EngineParts } from './parts';
import { genreSeedCandidates, genreSnapshot } from './genres';
import {
  afterColumnsFeed,
  catalogJsonUrl,
  ColumnsCatalog,
  headFeed,
  isColumnsUrl,
  readKeptTitles,
  startColumns,
  type EngineCatalog,
  type LoadedColumns,
} from './catalog-scale';
import { downloadActivity, embedUnindexed, ScalePath, takesScalePath, type OpenedRows } from './scale';
import { readAheadWhileIdle } from './scale-readahead';
import { readSetting, SETTING_ENCODER_ID } from './settings-keys';
import { errorMessage } from './util';

/** The BM25 index is built this long after the first feed if no query asked for it first (about a second of worker time for 10k books). */
const LEXICAL_IDLE_BUILD_MS = 3000;
/**
 * With every vector cached (a returning visit), TF.js, which only training needs here, is started
 * once the user has paused this long (no like, dislike or click): importing and initialising it holds
 * this worker for a few hundred milliseconds on a slow machine, and a Like meanwhile would wait.
 */
const BACKEND_START_PAUSE_MS = 500;

/** What the start tells the engine: the first feed is shown (events may be recorded), or it failed. */
export interface StartHooks {
  firstFeedShown(): void;
  failed(error: unknown): void;
  /** Listens to the other tabs (once storage is open). */
  listenToTabs(): void;
}

export class Startup {
  /** At scale, the status line of the shards' download while one is in progress. */
  private downloadLine: string | undefined;

  constructor(
    private readonly p: EngineParts,
    private readonly hooks: StartHooks,
  ) {}

  async run(config: EngineConfig): Promise<void> {
    const { state, store, encoders, prebuilt, model, feed, search, embedding } = this.p;
    const view = state.view;
    const started = performance.now();
    performance.mark('engine:start');
    state.config = config;
    let rowsOpening: Promise<OpenedRows> | undefined;
    // Kept columns whose titles are still to be read hold their file open until then (released if the start fails).
    let columnsLoaded: LoadedColumns | undefined;
    try {
      view.update({ activity: 'Loading the catalog…' });
      // The history, the settings and the cached vectors are read from IndexedDB while the catalog is
      // fetched and validated: on a returning visit the two take a few hundred milliseconds each.
      // A catalog too large for JSON is named by its columns file (`<catalog>.columns`): fetched as bytes.
      const columnsAt = config.catalog === undefined && isColumnsUrl(config.catalogUrl) ? config.catalogUrl : undefined;
      // The publisher's other files (shards, codes, rows, neighbours) are named after the catalog's JSON.
      const filesUrl = columnsAt === undefined ? config.catalogUrl : catalogJsonUrl(columnsAt);
      // Kept in OPFS by an earlier visit (no network), else downloaded and checked whole (engine/catalog-scale.ts).
      const columnsSources = { fetchBytes: state.deps.fetchBytes && ((url: string) => state.deps.fetchBytes!(url)), storage: state.deps.scaleStorage };
      const columnsStart = columnsAt === undefined ? undefined : startColumns(columnsAt, columnsSources);
      const columnsLoad = columnsStart?.columns;
      columnsLoad?.catch(() => undefined); // awaited below
      // A first visit: the publisher's head (a few KB), whose popular items are the feed until the columns are in.
      const head = columnsStart?.head;
      let columnsIn = false;
      void head?.then((got) => got && !columnsIn && view.current.phase === 'loading' && view.update({ feed: headFeed(got, config.feedSize) }));
      let catalogText = config.catalog === undefined && columnsAt === undefined ? state.deps.fetchText(config.catalogUrl) : undefined;
      catalogText?.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      let embeddingsAsked!: () => void;
      const asked = new Promise<void>((resolve) => (embeddingsAsked = resolve));
      const stored = this.readStoredState(config, embeddingsAsked);
      stored.catch(() => undefined).finally(embeddingsAsked);
      let text = await catalogText;
      const loaded = (columnsLoaded = await columnsLoad);
      performance.mark('engine:catalog-fetched');
      // Parsing holds this thread for a hundred milliseconds or more: the database is asked for the
      // cached vectors first, so that it reads them meanwhile (the longest read of a returning visit).
      await asked;
      const columns = loaded?.columns;
      columnsIn = true;
      const parsed = columns
        ? { name: columns.header.name, license: columns.header.license, attribution: columns.header.attribution, items: [], skipped: [] }
        : text === undefined
          ? parseCatalog(config.catalog)
          : parseCatalogText(text);
      // The JSON text is not needed once parsed, but a suspended async function keeps its locals, and
      // this one runs on until the backend is up: 60 MB at 100,000 items (2 bytes a character once one
      // is outside Latin-1), held beside the BM25 build (docs/scale.md, "The catalog's own memory").
      text = undefined;
      catalogText = undefined;
      performance.mark('engine:catalog-parsed');
      const firstSkipped = parsed.skipped[0];
      const skippedWarning: EngineWarning | undefined = firstSkipped && {
        code: 'catalogRowsSkipped',
        params: { count: parsed.skipped.length, row: firstSkipped.row + 1, reason: firstSkipped.reason },
      };
      const catalog: EngineCatalog = columns ? new ColumnsCatalog(columns) : new CatalogIndex(parsed.items);
      state.catalog = catalog;
      // A columns catalog's row files (one open each) are opened while the database is still read.
      rowsOpening = catalog instanceof ColumnsCatalog && state.deps.scaleStorage ? ScalePath.openRows(state.deps.scaleStorage, catalog) : undefined;
      rowsOpening?.catch(() => undefined); // awaited by ScalePath.open
      // Beside the catalog, not awaited: the feed uses the neighbours from the first like after they arrive.
      if (config.catalog === undefined) void feed.loadCoLiked(filesUrl);
      view.update({
        catalog: { name: parsed.name, size: catalog.size, attribution: parsed.attribution, license: parsed.license },
        // Warnings the storage side raised meanwhile (a full disk) stay.
        warnings: [...(skippedWarning ? [skippedWarning] : []), ...view.current.warnings],
        // Unless the database already said something (another tab blocking it), or is open already.
        ...(!store.opened && view.current.activity === 'Loading the catalog…' ? { activity: 'Opening your history…' } : {}),
      });
      const { listed, settings, options, cached } = await stored;
      performance.mark('engine:stored-read');
      state.events = listed.events;
      // Kept columns build their id table after the first feed (readKeptTitles): the ids the first feed looks up
      // (the history's, the page's context item) are found by one pass over the ids instead (not 100–200 ms at 1M).
      if (catalog instanceof ColumnsCatalog)
        catalog.resolveIds([
          ...(config.contextItemId === undefined ? [] : [config.contextItemId]),
          ...state.events.flatMap((event) => (event.kind === 'genre' ? [] : [event.itemId])),
        ]);
      state.contextIndex = config.contextItemId === undefined ? undefined : catalog.indexOf(config.contextItemId);
      if (state.contextIndex !== undefined) state.urgent.push(state.contextIndex);
      encoders.options = options;
      const chosen = readSetting(settings, SETTING_ENCODER_ID);
      const available = options.find((option) => option.id === chosen);
      encoders.activeId = available?.id ?? options[0]!.id;
      // The widget offers the bundled model only, by design: a choice made in the app is not a problem there.
      if (chosen !== undefined && !available && config.modelsUrl !== undefined) {
        view.warn({ code: 'encoderNotOffered', params: { chosen, fallback: options[0]!.label } });
      }
      view.update({ encoders: options, encoder: encoders.activeOption() });
      if (listed.skipped > 0) view.warn({ code: 'historySkipped', params: { count: listed.skipped } });
      const dimension = encoders.activeOption().dimension;
      const scaleStorage = state.deps.scaleStorage;
      // A catalog held as columns takes the scale path whatever its size: it has no texts to read here.
      if (catalog instanceof ColumnsCatalog && !scaleStorage)
        throw new Error('This catalog is too large for a browser without the origin private file system (OPFS)');
      const large = takesScalePath(catalog.size, config.catalog === undefined, scaleStorage) || catalog instanceof ColumnsCatalog;
      if (large && scaleStorage) {
        // A catalog too large for one matrix: the device's own cached rows only; the rest come from OPFS.
        state.vectors.fillSparse(cached, catalog instanceof ColumnsCatalog ? cachedHashes(catalog, cached.hashes()) : catalog.hashes, dimension);
        const opening = ScalePath.open(scaleStorage, catalog, encoders.activeId, dimension, state.vectors.rows, rowsOpening);
        rowsOpening = undefined; // ScalePath.open closes them if it fails
        state.scale = await opening.catch((error: unknown) => {
          view.warnOnce({ code: 'prebuiltIgnored', params: { message: errorMessage(error) } });
          return undefined;
        });
        performance.mark('engine:scale-opened');
        // The rows the history and the chosen genres need, read before the first feed (feed.ts reads `urgent`).
        if (state.scale) {
          for (const event of state.events) {
            const index = event.kind === 'genre' ? undefined : catalog.indexOf(event.itemId);
            if (index !== undefined) state.urgent.push(index);
            else if (event.kind === 'genre') state.urgent.push(...genreSeedCandidates(catalog, event.itemId));
          }
        }
      }
      // A large catalog whose files could not be opened (another tab holds them: sync handles are
      // exclusive) keeps its sparse rows: popularity, the device's own vectors and the word search,
      // not a first reading of every item on this device.
      if (!large) state.vectors.fillFromCache(cached, state.catalogIndex.hashes, dimension);
      store.reportSkippedRecords();
      // A first visit (or a grown catalog): the publisher's precomputed vectors, fetched while the first
      // feed is shown and the backend starts. A catalog handed over as a value has no file beside it.
      const prebuiltId = encoders.activeId;
      const prebuiltLoad =
        config.catalog === undefined && !large && !state.vectors.complete()
          ? prebuilt
              .fetch(config.catalogUrl, prebuiltId)
              .then((file) => file && prebuilt.apply(file, prebuiltId))
              // An optimisation only: whatever goes wrong, the catalog is read here as without the file.
              .catch((error: unknown) => view.warnOnce({ code: 'prebuiltIgnored', params: { message: errorMessage(error) } }))
          : undefined;
      state.rebuildProfile();
      // A returning visit: the stored model, with its item vectors kept from the last visit, ranks the
      // first feed (milliseconds, no ML runtime), so the feed does not reorder itself a second later and
      // the first likes are answered by the model. Without kept vectors it ranks once they are computed.
      if (state.vectors.complete()) await model.maybeOpen();
      // The feed needs no ML runtime: it is shown before the backend has finished starting.
      view.update({
        phase: 'ready',
        activity: 'Starting the compute backend…',
        historySize: state.events.length,
        ...genreSnapshot(catalog, state.events),
        feed: feed.rank(),
      });
      performance.mark('engine:feed-ranked');
      view.update({ firstFeedMs: performance.now() - started });
      this.hooks.firstFeedShown();
      const columnsNotKept = (message: string) => view.warn({ code: 'columnsNotKept', params: { message } });
      // Kept columns read without their titles: the titles now (the file is released after them).
      const titlesRead =
        loaded && columnsAt && state.deps.scaleStorage
          ? readKeptTitles(columnsAt, loaded, state.deps.scaleStorage, columnsNotKept, () => state.stopped)
          : undefined;
      // The columns kept (or compared with the head) before the shards' downloads start, and after the titles' read
      // released the kept file: not two writers in OPFS at once, nor a new version written over a file held open.
      const columnsKept =
        loaded && columnsAt ? (titlesRead ?? Promise.resolve()).then(() => afterColumnsFeed(columnsAt, loaded, columnsSources, columnsNotKept)) : undefined;
      const scalePrepared = this.prepareScale(filesUrl, columnsKept);
      // The rows the next Like will most likely need, read while the person pauses (engine/scale-readahead.ts).
      if (state.scale) void readAheadWhileIdle(this.p, state.scale, () => this.downloadLine !== undefined);
      // Read for an opening before the first feed; any later one reads what is stored then (an import meanwhile).
      model.storedModel = undefined;
      // Marks for the browser bench and DevTools: where a visit's time to the first feed goes.
      performance.mark('engine:first-feed');
      // Search works on words alone; the index is ready before most people type, without delaying the feed.
      void (titlesRead ?? Promise.resolve()).then(() => setTimeout(() => !state.stopped && search.buildLexicalIndexWhenIdle(), LEXICAL_IDLE_BUILD_MS));
      // A returning visit: the stored model ranks at once (plain arithmetic, no ML runtime needed).
      model.maybeOpen();
      if (state.vectors.complete()) {
        state.lastUserEventAt = performance.now();
        await state.userPause(BACKEND_START_PAUSE_MS);
      }
      // Started only now: on two cores, compiling WASM beside catalog parsing delays the first feed.
      const backend = await state.deps.selectBackend().catch((error: unknown) => new Error(errorMessage(error)));
      encoders.backendReady(backend instanceof Error ? backend : undefined);
      // Never rejects (fetch reports its own problems); awaited so the embedding below skips its rows.
      await prebuiltLoad;
      if (backend instanceof Error) {
        // The model opened above (from cached vectors) still ranks; it only cannot train.
        const code = model.openOrOpening ? 'backendUnavailableModelKept' : 'backendUnavailable';
        view.warn({ code, params: { message: backend.message } }, { activity: this.downloadLine });
        return;
      }
      // A download of the catalog's vectors in progress keeps its line.
      view.update({ backend, activity: this.downloadLine });
      model.maybeOpen();
      // At scale only what the shards miss is read here, a bounded number per visit (engine/scale.ts).
      if (state.scale) void scalePrepared?.then(() => state.scale && embedUnindexed(state.scale, this.p));
      else if (!large) void embedding.embedMissing();
    } catch (error) {
      columnsLoaded?.titles?.close();
      // Row files opened for a scale path that was never opened: released (another tab may want them).
      void rowsOpening?.then(
        (opened) => opened.store.close(),
        () => undefined,
      );
      view.update({ phase: 'error', error: errorMessage(error), activity: undefined });
      this.hooks.failed(error);
    }
  }

  /**
   * At scale, after the first feed: the text index's codes (OPFS, else downloaded once) and the shards
   * still missing, with their progress on the status line; the feed is ranked again as each lands.
   */
  private prepareScale(catalogUrl: string, after: Promise<void> | undefined): Promise<void> | undefined {
    const { state, feed } = this.p;
    const { view } = state;
    const scale = state.scale;
    if (!scale) return undefined;
    const rerank = () => !state.stopped && view.current.phase === 'ready' && view.update({ feed: feed.rank() });
    return (after ?? Promise.resolve())
      .then(() =>
        scale.prepare({
          catalogUrl,
          fetchBytes: state.deps.fetchBytes && ((url) => state.deps.fetchBytes!(url)),
          ...(state.deps.scaleStorage?.fetch ? { fetch: state.deps.scaleStorage.fetch } : {}),
          estimate: async () => (await state.deps.estimateStorage()) ?? {},
          onProgress: (progress) => {
            if (progress.bytesTotal === 0 || state.stopped) return;
            this.downloadLine = progress.shard >= 0 ? downloadActivity(progress) : undefined;
            view.update({ activity: this.downloadLine ?? (view.current.backend ? undefined : 'Starting the compute backend…') });
          },
          ...(state.config.pageAsksPersistence ? { askPersistence: () => view.update({ persistenceWanted: true }) } : {}),
          onChange: rerank,
          warn: (warning) => view.warnOnce(warning),
        }),
      )
      .then(() => {
        if (this.downloadLine === undefined || state.stopped) return;
        this.downloadLine = undefined;
        view.update({ activity: view.current.backend ? undefined : 'Starting the compute backend…' });
      });
  }

  /**
   * Opens the database and reads what start needs from it: the history, the settings, the models
   * offered, and every cached vector of the chosen model (matched to the catalog's texts later).
   */
  private async readStoredState(config: EngineConfig, embeddingsAsked: () => void) {
    const { state, store, model } = this.p;
    // The list of models is a fetch: started before the database opens.
    const optionsLoad = state.deps.listEncoders(config.modelsUrl);
    optionsLoad.catch(() => undefined); // awaited below
    // So is the storage estimate the quota check needs (30–50 ms of the browser's own bookkeeping on a
    // returning visit): asked now, it is answered by the time the vectors are, instead of after them.
    const estimateLoad = state.deps.estimateStorage();
    estimateLoad.catch(() => undefined); // awaited in checkQuota
    const db = await store.open();
    performance.mark('engine:db-opened');
    this.hooks.listenToTabs();
    const eventsLoad = db.listEvents();
    eventsLoad.catch(() => undefined);
    const settings = await db.getSettings();
    const chosen = readSetting(settings, SETTING_ENCODER_ID);
    // The cached vectors (5 MB for 10,000 items at 512-d) are the longest read of a returning visit:
    // asked for at once, of the model chosen last time (else the bundled one, offered first), so the
    // database reads them while the catalog is parsed; read again below only if that model is not offered.
    const guess = chosen ?? USE_LITE_SPEC.id;
    // The stored model (and its kept item projections) too, asked first: a returning visit ranks with
    // it first, and its ~4 MB arrive (and are deserialised here) while the vectors are still being read.
    const storedWeights = db.listWeights();
    storedWeights.catch(() => undefined);
    model.storedModel = { weights: storedWeights, settings };
    const early = db.readEmbeddings(guess);
    early.catch(() => undefined);
    embeddingsAsked();
    const [listed, options] = await Promise.all([eventsLoad, optionsLoad]);
    performance.mark('engine:db-listed');
    const encoderId = options.find((option) => option.id === chosen)?.id ?? options[0]!.id;
    // A nearly full disk clears the cache (after the read above, in the database's order): nothing to use then.
    const cleared = await store.checkQuota(estimateLoad);
    const cached = cleared ? CachedVectors.empty() : encoderId === guess ? await early : await db.readEmbeddings(encoderId);
    return { listed, settings, options, cached };
  }
}

/**
 * The text hash of each item the cache holds a vector for, at its index; the rest left empty (a sparse
 * array). Compared by their first 4 bytes over the columns' hash bytes, so that a million items do not
 * each make a string.
 */
function cachedHashes(catalog: ColumnsCatalog, cached: Iterable<string>): string[] {
  const out = new Array<string>(catalog.size);
  const prefixes = new Set<number>();
  const wanted = new Set<string>();
  for (const hash of cached) {
    wanted.add(hash);
    prefixes.add(Number.parseInt(hash.slice(0, 8), 16) >>> 0);
  }
  if (wanted.size === 0) return out;
  const bytes = catalog.columns.hashBytes;
  for (let i = 0; i < catalog.size; i++) {
    const at = 8 * i;
    const prefix = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
    if (!prefixes.has(prefix)) continue;
    const hash = catalog.textHash(i);
    if (wanted.has(hash)) out[i] = hash;
  }
  return out;
}
