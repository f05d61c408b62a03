/**
 * The engine at catalog scale (issue 21). A catalog of more than SCALE_MIN_ITEMS items (the size above
 * which the publisher writes its vectors as shards, cli/build-shards.ts) is never held as one matrix:
 *  - its text vectors come from the publisher's shards, downloaded once into OPFS (storage/opfs-vectors.ts,
 *    engine/shard-fetch.ts: quota first, resumable, progress with bytes and time left, a silent request
 *    asked again: engine/scale-download.ts); the publisher's
 *    sign codes of them (`<catalog>.<model>.text-index`) are downloaded once and kept beside them, so a
 *    returning visit reads both from storage, not the network;
 *  - the feed and a query take a pool of candidates: the most popular items, the index's nearest to the
 *    taste profile and to the query (stage one over the codes, exact cosine over the candidates' rows,
 *    engine/scale-index.ts), the query's best word matches, the history, the device's own vectors; the
 *    pool's rows are read from OPFS and the content ranker re-scores them exactly (core/index/pool-rank.ts);
 *  - items the shards do not cover (a refused shard) or whose text changed since the publisher's build
 *    are embedded here, at most DEVICE_EMBEDS_PER_VISIT a visit (history first, then by popularity),
 *    and cached in IndexedDB as on the small path;
 *  - the recommendation model (HybridModel) is not opened on this path: its item vectors for every item
 *    are what does not fit (docs/scale.md says what is kept at scale; wiring it is still to do).
 * Only this directory of OPFS is written here; the history stays in IndexedDB and is never touched.
 */
import { indexFileUrl, IndexFileError } from '../core/index/codes-file';
import { mostPopular, topPositive } from '../core/index/pool-rank';
import { planShards } from '../core/index/shards';
import type { CodeIndex } from '../core/index/two-stage';
import type { SyncFile, VectorStore } from '../storage/opfs-vectors';
import { CatalogRowFiles } from '../storage/opfs-vectors-rows';
import type { EngineWarning } from './api';
import { ColumnsCatalog, type EngineCatalog } from './catalog-scale';
import { fetchRowShards } from './catalog-rows-fetch';
import type { ScaleStorage } from './scale-files';
import { compareStoredHashes, hashBytes } from './scale-hashes';
import { closeVectorFiles, openVectorFiles, type VectorFiles } from './scale-vector-files';
import { measureLast } from './scale-marks';
import { ScaleSearch, textIndexFrom, TEXT_CANDIDATES } from './scale-index';
import { rowShardsToStore } from './scale-quota';
import { fetchShards, QuotaError, type ShardProgress } from './shard-fetch';
import { errorMessage } from './util';

export { SCALE_MIN_ITEMS, takesScalePath, removeVectorFiles, type ScaleStorage } from './scale-files';
export { DEVICE_EMBEDS_PER_VISIT, downloadActivity, embedUnindexed } from './scale-embed';
/** The pool's most popular items: the feed of a new reader, and popularity's part of everyone's. */
export const POPULAR_POOL = 300;
/** A query's best word matches (BM25) in the pool: a title or author asked for by name. */
export const LEXICAL_POOL = 200;
/** Rows read from OPFS kept in memory (about 2 KB each at 512-d); the oldest outside the history go first. */
const ROW_CACHE_LIMIT = 20_000;
/** How long the downloads wait for the page's answer to `askPersistence` (a browser may ask the person). */
export const PERSISTENCE_WAIT_MS = 10_000;
const CODES_FILE = 'text-index.bin';

/** Closes the scale path's files and downloads and forgets it (an erase here or in another tab). */
export function forgetScalePath(state: { scale: ScalePath | undefined }): void {
  state.scale?.close();
  state.scale = undefined;
}

/** Where rows read from OPFS go: the engine's sparse vectors. */
export interface RowSink {
  readonly rows: readonly (Float32Array | undefined)[];
  set(index: number, row: Float32Array | undefined): void;
}

export type OpenedRows = Awaited<ReturnType<typeof CatalogRowFiles.open>>;

export interface PrepareHooks {
  catalogUrl: string;
  fetchBytes: ((url: string) => Promise<Uint8Array | undefined>) | undefined;
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  fetch?: typeof fetch;
  onProgress(progress: ShardProgress): void;
  /**
   * Called once, before the first download of this visit (the codes or a shard missing), where the page
   * answers (EngineConfig.pageAsksPersistence): it is asked to request persistent storage (a worker
   * cannot), so that what follows is kept; the downloads wait for `persistenceAnswered`, at most
   * PERSISTENCE_WAIT_MS.
   */
  askPersistence?(): void;
  /** The index or a shard became usable: the feed is ranked again. */
  onChange(): void;
  warn(warning: EngineWarning): void;
}

export class ScalePath {
  /** The text index over the stored rows, once its codes are read (undefined until then, or when none is published). */
  search: ScaleSearch | undefined;
  /** Items with the device's own vector (cached in IndexedDB): always in the pool, the index does not know them. */
  readonly device = new Set<number>();
  readonly popular: number[];
  /** Rows read from OPFS into the engine's sparse vectors, oldest first. */
  private loaded: number[] = [];
  /** Rows read from OPFS into a sink since the path opened (engine/scale-readahead.ts counts its own). */
  rowsRead = 0;
  private codesFile: SyncFile | undefined;
  /** A columns catalog's row shards stored on this device (undefined for a catalog held whole). */
  rowFiles: CatalogRowFiles | undefined;
  /** Why stored row files were removed at the start (downloaded again). */
  refusedRows: string[] = [];
  private prepared: Promise<void> | undefined;
  private answerPersistence: (() => void) | undefined;
  /** Set by close(): nothing is opened or written any more, and the download in progress stops. */
  private closed = false;
  private readonly stop = new AbortController();

  private constructor(
    private readonly catalog: EngineCatalog,
    readonly modelId: string,
    readonly store: VectorStore,
    private readonly hashes: SyncFile,
    /** 1 where the stored row is not the item's current text (not downloaded, refused, or its text changed). */
    private readonly stale: Uint8Array,
  ) {
    this.popular = mostPopular(catalog.popularity, POPULAR_POOL);
  }

  /**
   * Opens the catalog's rows in OPFS (fast: a ledger and two handles); the codes and shards come in
   * `prepare`. `deviceRows`: items that already have a vector of the device's (the IndexedDB cache).
   */
  static async open(
    storage: ScaleStorage,
    catalog: EngineCatalog,
    modelId: string,
    dimension: number,
    deviceRows: readonly (Float32Array | undefined)[],
    /** A columns catalog's row files, opened earlier (`openRows`: a returning visit opens them beside its database reads). */
    rowsOpening?: Promise<OpenedRows>,
  ): Promise<ScalePath> {
    const identity = { modelId, catalogFingerprint: catalog.fingerprint(), totalItems: catalog.size, dimension };
    let files: VectorFiles | undefined;
    let rows = rowsOpening;
    try {
      // An erase that found the files held open elsewhere left them marked: gone before anything is read.
      await storage.removePending?.();
      rows ??= catalog instanceof ColumnsCatalog ? ScalePath.openRows(storage, catalog) : undefined;
      rows?.catch(() => undefined); // awaited below
      files = await openVectorFiles(storage, identity);
      const path = ScalePath.compareHashes(catalog, modelId, files);
      deviceRows.forEach((row, i) => row && path.device.add(i));
      // A catalog held as columns: its rows (texts, bylines) in OPFS too, beside the vectors of every model.
      const opened = await rows;
      if (opened && catalog instanceof ColumnsCatalog) {
        path.rowFiles = opened.store;
        path.refusedRows = opened.refused.map((refused) => refused.message);
        catalog.useRows(opened.store.rows);
      }
      return path;
    } catch (error) {
      // Nothing left open (another tab may want the files): the rows too, once they are.
      if (files) closeVectorFiles(files);
      void rows?.then(
        (opened) => opened.store.close(),
        () => undefined,
      );
      throw error;
    }
  }

  /** A columns catalog's row files in OPFS (model-independent: opened as soon as the columns are in). */
  static async openRows(storage: ScaleStorage, catalog: ColumnsCatalog): Promise<OpenedRows> {
    return CatalogRowFiles.open(await storage.directory(rowDirectory(catalog.fingerprint())), catalog.columns);
  }

  /** The scale path over `store`: which stored rows are the items' current texts (the hashes file against the catalog's). */
  private static compareHashes(catalog: EngineCatalog, modelId: string, files: VectorFiles): ScalePath {
    const stale = compareStoredHashes(catalog, files.stored);
    performance.mark('engine:scale-hashes');
    return new ScalePath(catalog, modelId, files.store, files.hashes, stale);
  }

  /** The page asked the browser to keep this origin's storage (`askPersistence`): the downloads go on. */
  persistenceAnswered(): void {
    this.answerPersistence?.();
    this.answerPersistence = undefined;
  }

  /** Items the index may return: a stored row for the item's current text. */
  indexed(index: number): boolean {
    return this.stale[index] === 0;
  }

  /** Items without a usable row anywhere (neither a current stored row nor the device's own). */
  unindexed(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.stale.length; i++) if (this.stale[i] && !this.device.has(i)) out.push(i);
    return out;
  }

  /**
   * The text index's codes (from OPFS, else downloaded once and kept) and the shards still missing;
   * re-ranks as each becomes usable. Never rejects: problems are warnings, and the items concerned are
   * embedded on the device (a bounded number per visit) or found by their words.
   */
  prepare(hooks: PrepareHooks): Promise<void> {
    this.prepared ??= this.runPrepare(hooks);
    return this.prepared;
  }

  private async runPrepare(hooks: PrepareHooks): Promise<void> {
    const { catalog, store, modelId } = this;
    const identity = { modelId, catalogFingerprint: catalog.fingerprint(), count: catalog.size };
    if (this.closed) return;
    this.codesFile ??= (await store.directory.open(CODES_FILE, true))!;
    if (hooks.askPersistence && (this.codesFile.getSize() === 0 || store.done.size < planShards(catalog.size).length)) {
      const answered = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, PERSISTENCE_WAIT_MS);
        this.answerPersistence = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      hooks.askPersistence();
      await answered;
      if (this.closed) return;
    }
    try {
      this.search = await this.readCodes(hooks, identity);
      if (this.search) hooks.onChange();
    } catch (error) {
      if (!this.closed) hooks.warn({ code: 'prebuiltIgnored', params: { message: errorMessage(error) } });
    }
    if (this.closed) return;
    try {
      const { dimension } = store.identity;
      const rowFiles = this.rowFiles;
      const result = await fetchShards({
        catalogUrl: hooks.catalogUrl,
        expected: { modelId, catalogFingerprint: identity.catalogFingerprint, totalItems: catalog.size, dimension },
        store,
        ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
        ...(hooks.estimate ? { estimate: hooks.estimate } : {}),
        // A columns catalog's texts come after the vectors: their sizes (HEAD requests) join the vectors' quota check, before the first byte.
        ...(rowFiles && catalog instanceof ColumnsCatalog
          ? {
              alsoStoring: () =>
                rowShardsToStore({ catalogUrl: hooks.catalogUrl, files: rowFiles, ...(hooks.fetch ? { fetch: hooks.fetch } : {}), signal: this.stop.signal }),
            }
          : {}),
        onProgress: hooks.onProgress,
        signal: this.stop.signal,
        onRows: ({ itemStart, textHashes }) => {
          const bytes = new Uint8Array(textHashes.length * 8);
          textHashes.forEach((hash, r) => {
            hashBytes(hash, bytes, r * 8);
            this.stale[itemStart + r] = hash === catalog.textHash(itemStart + r) ? 0 : 1;
          });
          this.hashes.write(bytes, { at: itemStart * 8 });
          this.hashes.flush();
          hooks.onChange();
          // For the bench: the feed ranked again with the first shard stored (e2e/scale-columns.spec.ts).
          if (performance.getEntriesByName('engine:first-shard-ranked').length === 0) performance.mark('engine:first-shard-ranked');
        },
      });
      for (const refused of result.refused) hooks.warn({ code: 'prebuiltIgnored', params: { message: refused.message } });
    } catch (error) {
      if (this.closed) return;
      // A quota refusal downloads nothing and loses nothing: the history is elsewhere.
      hooks.warn({ code: 'prebuiltIgnored', params: { message: error instanceof QuotaError ? error.message : errorMessage(error) } });
    }
    await this.fetchRows(hooks);
  }

  /**
   * A columns catalog's row shards not stored yet, after the vectors (cards show the columns' stand-ins
   * meanwhile): quota checked, resumable, with their own progress line (engine/catalog-rows-fetch.ts).
   */
  private async fetchRows(hooks: PrepareHooks): Promise<void> {
    const { catalog, rowFiles } = this;
    if (this.closed || !rowFiles || !(catalog instanceof ColumnsCatalog)) return;
    for (const message of this.refusedRows.splice(0)) hooks.warn({ code: 'catalogTextsMissing', params: { message } });
    try {
      await fetchRowShards({
        catalogUrl: hooks.catalogUrl,
        files: rowFiles,
        ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
        ...(hooks.estimate ? { estimate: hooks.estimate } : {}),
        onProgress: hooks.onProgress,
        signal: this.stop.signal,
        onShard: () => {
          catalog.useRows(rowFiles.rows);
          hooks.onChange();
        },
        warn: (message) => hooks.warn({ code: 'catalogTextsMissing', params: { message } }),
      });
    } catch (error) {
      if (!this.closed) hooks.warn({ code: 'catalogTextsMissing', params: { message: errorMessage(error) } });
    }
  }

  /** The index from the codes kept in OPFS, else from the publisher's file (then kept); undefined when none is published. */
  private async readCodes(hooks: PrepareHooks, identity: { modelId: string; catalogFingerprint: string; count: number }): Promise<ScaleSearch | undefined> {
    const file = this.codesFile;
    if (!file) return undefined;
    if (file.getSize() > 0) {
      const bytes = new Uint8Array(file.getSize());
      file.read(bytes, { at: 0 });
      try {
        return new ScaleSearch({ text: { index: await textIndexFrom(bytes, identity), rows: this.store } });
      } catch (error) {
        // Damaged or for another catalog version: fetched again below.
        if (!(error instanceof IndexFileError)) throw error;
      }
    }
    const url = indexFileUrl(hooks.catalogUrl, this.modelId, 'text');
    const bytes = await hooks.fetchBytes?.(url);
    if (!bytes || this.closed) return undefined;
    const index: CodeIndex = await textIndexFrom(bytes, identity);
    file.truncate(0);
    file.write(bytes, { at: 0 });
    file.flush();
    return new ScaleSearch({ text: { index, rows: this.store } });
  }

  /**
   * The feed's pool: popular items, the index's nearest to the taste direction and to the query vector,
   * the query's best word matches, the device's own vectors and `extra` (history, the item on screen).
   * With `sink`, the rows read for the exact scores are kept there (loadRows then does not read them again).
   */
  pool(
    direction: Float32Array | null,
    queryVector: Float32Array | undefined,
    lexical: Float32Array | undefined,
    extra: Iterable<number>,
    sink?: RowSink,
  ): number[] {
    const [started, read] = [performance.now(), this.rowsRead];
    const pool = new Set<number>([...this.popular, ...this.device, ...extra]);
    const exclude = (index: number) => this.stale[index] !== 0;
    const keep = sink && ((items: readonly number[], codes: Int8Array, scales: Float32Array) => this.accept(items, codes, scales, sink));
    for (const vector of [direction, queryVector]) {
      if (!vector || !this.search) continue;
      for (const item of this.search.query(vector, TEXT_CANDIDATES, exclude, keep, sink && ((index) => sink.rows[index])).items) pool.add(item);
    }
    if (lexical) for (const item of topPositive(lexical, LEXICAL_POOL)) pool.add(item);
    measureLast('engine:pool', started, { rows: this.rowsRead - read });
    return [...pool];
  }

  /**
   * Reads the rows of `items` that are not in `sink.rows` yet from OPFS (current rows only) into the
   * sink; forgets the oldest rows read when more than ROW_CACHE_LIMIT are held, except `items` and `keep`'s.
   */
  loadRows(items: readonly number[], sink: RowSink, keep: ReadonlySet<number>): number {
    // In the order of their place in the file (one pass forward, not 500 jumps back and forth).
    const wanted = items.filter((index) => !sink.rows[index] && this.stale[index] === 0).sort((a, b) => a - b);
    if (wanted.length > 0) {
      const dim = this.store.identity.dimension;
      const codes = new Int8Array(wanted.length * dim);
      const scales = new Float32Array(wanted.length);
      this.store.readRows(wanted, codes, scales);
      this.accept(wanted, codes, scales, sink);
    }
    if (this.loaded.length > ROW_CACHE_LIMIT) {
      const drop = this.loaded.length - ROW_CACHE_LIMIT;
      const kept: number[] = [];
      const current = new Set(items);
      this.loaded.forEach((index, at) => {
        if (at < drop && !keep.has(index) && !current.has(index) && !this.device.has(index)) sink.set(index, undefined);
        else kept.push(index);
      });
      this.loaded = kept;
    }
    return wanted.length;
  }

  /** Rows read (int8 + scale) as floats into the sink, those it lacks. */
  private accept(items: readonly number[], codes: Int8Array, scales: Float32Array, sink: RowSink): void {
    const dim = this.store.identity.dimension;
    items.forEach((index, c) => {
      if (sink.rows[index] || this.stale[index] !== 0) return;
      const row = new Float32Array(dim);
      const scale = scales[c]!;
      for (let t = 0; t < dim; t++) row[t] = codes[c * dim + t]! * scale;
      sink.set(index, row);
      this.loaded.push(index);
      this.rowsRead++;
    });
  }

  /** Items whose stored row is their current text. */
  storedRows(): number {
    let count = 0;
    for (const flag of this.stale) if (flag === 0) count++;
    return count;
  }

  /** Bytes this catalog's vectors take in OPFS (rows, partial shard, codes, text hashes), for the Privacy panel. */
  bytes(): number {
    return this.store.bytes + (this.codesFile?.getSize() ?? 0) + this.hashes.getSize() + (this.rowFiles?.bytes ?? 0);
  }

  /** Releases the files (before an erase removes them, here or in another tab) and stops the download. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    this.persistenceAnswered();
    this.store.close();
    this.hashes.close();
    this.codesFile?.close();
    this.codesFile = undefined;
    this.rowFiles?.close();
  }
}

/** Where a columns catalog's row shards live in OPFS: under the vectors' root, so that erase removes them with the vectors. */
export const rowDirectory = (catalogFingerprint: string): string[] => ['vectors', `${catalogFingerprint}.rows`.replace(/[^A-Za-z0-9._-]/g, '_')];
