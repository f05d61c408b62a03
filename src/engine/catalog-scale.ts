/**
 * The catalog as the engine holds it (issue 21). A catalog of up to MAX_CATALOG_ITEMS items comes as
 * JSON and is held whole (`CatalogIndex`: item objects, texts, hashes). A larger one comes as its
 * columns (`<catalog>.columns`, core/catalog-columns.ts: ids, titles, popularity, years, genres, text
 * hashes as typed arrays) and its row shards in OPFS (storage/opfs-vectors-rows.ts): `ColumnsCatalog`
 * keeps the columns and reads an item's full row (byline, tags, text) only for the items the engine
 * ranks, shows or embeds, so a million texts never sit in the worker's memory.
 *
 * Both answer the same questions by index (CatalogView, popularity, recency, genres, fingerprint) and
 * both have `items`; a columns catalog's is sparse: an item's entry is there once `load` read it.
 * What only a whole catalog has (every text, every hash, the id map) is read from `CatalogIndex` by the
 * modules of the small path (EngineState.catalogIndex).
 */
import type { CatalogItem } from '../core/catalog';
import { decodeColumns, decodeKeptColumns, type CatalogColumns } from '../core/catalog-columns';
import { columnsHeadUrl, parseColumnsHead, type ColumnsHead } from '../core/catalog-columns-head';
import type { CatalogIndex } from '../core/catalog-index';
import type { StoredRows } from '../core/catalog-rows';
import type { CatalogView } from '../core/catalog-view';
import { encoderText } from '../core/item-text';
import type { FeedItem } from './api';
import { columnsDirectory, keepColumns, readKeptColumns, readKeptColumnsInParts, removeKeptColumns, type KeptTitles } from '../storage/opfs-columns';
import type { ScaleStorage } from './scale-files';
import { measureLast } from './scale-marks';
import { errorMessage } from './util';

export type EngineCatalog = CatalogIndex | ColumnsCatalog;

/** Whether a catalog URL names a catalog's columns file rather than its JSON. */
export function isColumnsUrl(url: string): boolean {
  return /\.columns(?=[?#]|$)/i.test(url);
}

/** The JSON name beside a columns file: what the publisher's other files (shards, codes, rows) are named after. */
export function catalogJsonUrl(url: string): string {
  return url.replace(/\.columns(?=[?#]|$)/i, '.json');
}

/** Items read (rows or stand-ins) kept at most; the history's and the feed's are read again when needed. */
const ITEM_CACHE_LIMIT = 50_000;

export class ColumnsCatalog implements CatalogView {
  readonly popularity: Float32Array;
  readonly recency: Float32Array;
  /**
   * Sparse: the items `load` read (the pool, the feed, the history), the rest undefined. An item whose
   * row shard is not stored yet is a stand-in from the columns (id, title, year, genres) until it is.
   */
  readonly items: CatalogItem[];
  private rows: StoredRows | undefined;
  /** Items held as stand-ins (read again once their row is stored). */
  private readonly standIns = new Set<number>();
  private readonly loadedOrder: number[] = [];
  private booksByGenre: Map<string, number[]> | undefined;

  constructor(readonly columns: CatalogColumns) {
    this.popularity = columns.popularityPrior();
    this.recency = columns.recency();
    // A holey array: one pointer an item, filled as items are read.
    this.items = new Array<CatalogItem>(columns.size);
  }

  get size(): number {
    return this.columns.size;
  }

  indexOf(id: string): number | undefined {
    const columns = this.columns;
    if (!columns.idsPending) return columns.indexOf(id);
    // The id table left for after the first feed (kept columns): built by this lookup unless `resolveIds` found the id.
    const started = performance.now();
    const index = columns.indexOf(id);
    if (!columns.idsPending) measureLast('engine:id-table', started, { lookup: 1 });
    return index;
  }

  /**
   * Before the id table is built (kept columns, `CatalogColumns.checkShape(true)`): `ids` found by one pass over
   * the ids' bytes, so that looking them up (a returning visit's history, before its first feed) does not build it.
   */
  resolveIds(ids: Iterable<string>): void {
    if (!this.columns.idsPending) return;
    const started = performance.now();
    this.columns.resolveIds(ids);
    measureLast('engine:ids-resolved', started, {});
  }

  title(index: number): string {
    return this.columns.title(index);
  }

  textHash(index: number): string {
    return this.columns.textHash(index);
  }

  fingerprint(): string {
    return this.columns.fingerprint;
  }

  /** The row shards stored on this device (read for `items` and `text`); stand-ins read so far are read again. */
  useRows(rows: StoredRows): void {
    this.rows = rows;
    for (const index of this.standIns) delete this.items[index];
    this.standIns.clear();
  }

  /** Reads the items of `indices` not held yet: the stored row, else a stand-in from the columns. */
  load(indices: Iterable<number>, keep: ReadonlySet<number> = new Set()): void {
    const [started, before] = [performance.now(), this.loadedOrder.length];
    for (const index of indices) {
      if (this.items[index] || !(index >= 0 && index < this.size)) continue;
      const row = this.rows?.item(index);
      if (row) this.items[index] = row;
      else {
        this.items[index] = this.standIn(index);
        this.standIns.add(index);
      }
      this.loadedOrder.push(index);
    }
    measureLast('engine:catalog-load', started, { rows: this.loadedOrder.length - before });
    if (this.loadedOrder.length <= ITEM_CACHE_LIMIT) return;
    const drop = this.loadedOrder.length - ITEM_CACHE_LIMIT;
    const kept: number[] = [];
    this.loadedOrder.forEach((index, at) => {
      if (at < drop && !keep.has(index)) {
        delete this.items[index];
        this.standIns.delete(index);
      } else kept.push(index);
    });
    this.loadedOrder.splice(0, this.loadedOrder.length, ...kept);
  }

  /** What the encoder reads for item `index`, once its row is stored; undefined before. */
  text(index: number): string | undefined {
    const row = this.rows?.item(index);
    return row && encoderText(row);
  }

  /** The catalog's genres and their books, most popular first (as CatalogIndex.genreBooks). */
  genreBooks(): Map<string, number[]> {
    if (!this.booksByGenre) {
      const names = this.columns.header.genres;
      const lists = names.map(() => [] as number[]);
      this.columns.forEachGenre((item, genre) => lists[genre]!.push(item));
      const popularity = this.popularity;
      this.booksByGenre = new Map();
      names.forEach((name, g) => {
        const books = lists[g]!;
        if (books.length === 0) return;
        books.sort((a, b) => popularity[b]! - popularity[a]! || a - b);
        this.booksByGenre!.set(name, books);
      });
    }
    return this.booksByGenre;
  }

  private standIn(index: number): CatalogItem {
    const year = this.columns.year(index);
    const genres = this.columns.genres(index);
    const popularity = this.columns.rawPopularity[index]!;
    const title = this.columns.title(index);
    // The title stands for the text until the row is read (a card shows the title; nothing embeds a stand-in).
    return {
      id: this.columns.id(index),
      title,
      text: title,
      ...(year === undefined ? {} : { year }),
      ...(genres.length > 0 ? { genres } : {}),
      ...(popularity >= 0 ? { popularity } : {}),
    };
  }
}

/** Where a columns catalog comes from: the network, and the device's OPFS where it was kept. */
export interface ColumnsSources {
  fetchBytes: ((url: string) => Promise<Uint8Array | undefined>) | undefined;
  storage: ScaleStorage | undefined;
}

/** A columns catalog as a visit got it: kept on this device (`kept`), or downloaded and checked whole. */
export interface LoadedColumns {
  columns: CatalogColumns;
  kept: boolean;
  /** A download's header bytes (the file up to its payload), to keep it after the first feed. */
  prefix?: Uint8Array;
  /** Kept columns read without their titles (`columns.titlesPending`): read after the first feed by `readKeptTitles`. */
  titles?: KeptTitles;
}

/**
 * The columns at `url`: those kept on this device when their record still names them (read from OPFS,
 * checked cheaply: decodeKeptColumns), else downloaded and checked whole. A kept file that no longer
 * checks is forgotten and the download taken instead. The network's version is compared after the
 * first feed (`afterColumnsFeed`).
 */
export async function loadColumns(url: string, sources: ColumnsSources): Promise<LoadedColumns> {
  return (await readKept(url, sources.storage)) ?? (await downloadColumns(url, sources.fetchBytes));
}

/**
 * `loadColumns`, and the publisher's head where a first visit needs it: fetched only when no columns are
 * kept (a returning visit's feed comes from the kept columns, and it compares the head after its feed).
 */
export function startColumns(url: string, sources: ColumnsSources): { columns: Promise<LoadedColumns>; head: Promise<ColumnsHead | undefined> } {
  const kept = readKept(url, sources.storage);
  return {
    columns: kept.then(async (found) => found ?? (await downloadColumns(url, sources.fetchBytes))),
    head: kept.then((found) => (found ? undefined : fetchHead(url, sources.fetchBytes))),
  };
}

/** The kept columns, checked cheaply; undefined when none are kept or they no longer check (then forgotten). */
async function readKept(url: string, storage: ScaleStorage | undefined): Promise<LoadedColumns | undefined> {
  if (!storage) return undefined;
  try {
    // An erase that found the files held open left them marked: gone before anything is read.
    await storage.removePending?.();
    const dir = await storage.directory(columnsDirectory);
    // Where the storage reads a file in parts (OPFS): everything but the titles first, the titles after the first feed.
    const parts = storage.file ? await readKeptColumnsInParts(dir, url, (name) => storage.file!(columnsDirectory, name)) : 'whole';
    const kept = parts === 'whole' ? await readKeptColumns(dir, url) : parts;
    if (!kept) return undefined;
    performance.mark('engine:columns-read');
    const titles: KeptTitles | Uint8Array | undefined = 'titles' in kept ? (kept.titles as KeptTitles | Uint8Array) : undefined;
    try {
      if (!titles) return { columns: decodeKeptColumns(kept.bytes, kept.record, url), kept: true };
      const columns = decodeKeptColumns(kept.bytes, kept.record, url, true);
      if (isHeld(titles)) {
        columns.titlesLater(titles);
        return { columns, kept: true, titles };
      }
      const problem = columns.useTitles(titles);
      if (problem) throw new Error(problem);
      return { columns, kept: true };
    } catch (error) {
      if (titles && isHeld(titles)) titles.close();
      console.warn('The catalog kept on this device no longer checks; it is downloaded again:', errorMessage(error));
      await removeKeptColumns(dir, url);
    }
  } catch (error) {
    // Another tab holds the file (sync handles are exclusive), or OPFS failed: the network's copy.
    console.warn('The catalog kept on this device could not be read:', errorMessage(error));
  }
  return undefined;
}

/**
 * After the first feed of a visit that read its kept columns without their titles: the titles read (in slices,
 * this worker's messages taken between them) and checked; the file released. Titles that do not check are not
 * used and the kept file is forgotten (the next visit downloads it again); meanwhile each title is read alone as
 * before. The id table, left for now by the same read (`decodeKeptColumns`), is built then (if no lookup built
 * it already) and a duplicate id has the kept file forgotten too (this visit goes on with the first item of each
 * id). Never rejects (`warn` says what went wrong); resolves once the file is released.
 */
export async function readKeptTitles(
  url: string,
  loaded: LoadedColumns,
  storage: ScaleStorage,
  warn: (message: string) => void,
  stopped: () => boolean,
): Promise<void> {
  const { titles, columns } = loaded;
  if (!titles) return;
  const started = performance.now();
  try {
    const blob = await titles.readInSlices(
      () => new Promise<void>((resolve) => setTimeout(resolve, 0)),
      () => columns.titlesPending && !stopped(),
    );
    const problem = blob && columns.titlesPending ? columns.useTitles(blob) : undefined;
    measureLast('engine:titles-read', started, { bytes: blob?.length ?? 0 });
    const idsStarted = performance.now();
    const idsPending = columns.idsPending;
    const idProblem = problem || stopped() ? undefined : columns.checkIds();
    if (idsPending && !columns.idsPending) measureLast('engine:id-table', idsStarted, { lookup: 0 });
    if (!problem && !idProblem) return;
    titles.close();
    warn(problem ? `its titles no longer check: ${problem}` : `its ids no longer check: ${idProblem}`);
    await removeKeptColumns(await storage.directory(columnsDirectory), url);
  } catch (error) {
    warn(errorMessage(error));
  } finally {
    titles.close();
  }
}

/** Titles still held in the kept file (a sync handle), not read already. */
function isHeld(titles: KeptTitles | Uint8Array): titles is KeptTitles {
  return 'readInSlices' in titles;
}

/** The columns file at `url`, checked whole; a missing one (404) is an error: it is the catalog. */
async function downloadColumns(url: string, fetchBytes: ColumnsSources['fetchBytes'], expectedFingerprint?: string): Promise<LoadedColumns> {
  const bytes = fetchBytes && (await fetchBytes(url));
  if (!bytes) throw new Error(`The catalog ${url} could not be fetched`);
  const columns = await decodeColumns(bytes, expectedFingerprint, url);
  // The header's bytes: what precedes the payload, which runs to the file's end (decodeColumns checks the length).
  return { columns, kept: false, prefix: bytes.slice(0, bytes.length - columns.payload.length) };
}

/**
 * After the first feed. Columns downloaded this visit are kept (the next visit reads them from OPFS).
 * Columns read from OPFS are compared with the publisher's head (`<catalog>.head.json`, a few KB): a
 * head naming other columns (a new version of the catalog) has them downloaded, checked whole and kept
 * in place of the old ones; this visit goes on with the ones it has, the next one uses the new ones.
 * Never rejects: a head or a download that fails leaves what is kept (`warn` says why).
 */
export async function afterColumnsFeed(url: string, loaded: LoadedColumns, sources: ColumnsSources, warn: (message: string) => void): Promise<void> {
  const { storage } = sources;
  if (!storage) return;
  try {
    if (!loaded.kept) return await keep(url, loaded, storage);
    const head = await fetchHead(url, sources.fetchBytes);
    if (!head || head.payloadSha256 === loaded.columns.header.payloadSha256) return;
    const fresh = await downloadColumns(url, sources.fetchBytes, head.catalogFingerprint);
    if (fresh.columns.header.payloadSha256 !== head.payloadSha256) throw new Error(`${url} is not the file its head names`);
    await keep(url, fresh, storage);
  } catch (error) {
    warn(errorMessage(error));
  }
}

async function keep(url: string, loaded: LoadedColumns, storage: ScaleStorage): Promise<void> {
  const { columns, prefix } = loaded;
  if (!prefix) return;
  const payload = columns.payload;
  await keepColumns(await storage.directory(columnsDirectory), url, [prefix, payload], {
    payloadSha256: columns.header.payloadSha256,
    catalogFingerprint: columns.fingerprint,
    bytes: prefix.length + payload.length,
    itemCount: columns.size,
  });
}

/** The publisher's head of the columns at `url`, checked; undefined when there is none (404) or it does not check. */
export async function fetchHead(url: string, fetchBytes: ColumnsSources['fetchBytes']): Promise<ColumnsHead | undefined> {
  const headUrl = columnsHeadUrl(url);
  const bytes = fetchBytes && (await fetchBytes(headUrl).catch(() => undefined));
  if (!bytes) return undefined;
  try {
    return parseColumnsHead(bytes, headUrl);
  } catch (error) {
    console.warn(errorMessage(error));
    return undefined;
  }
}

/**
 * The head's popular items as a feed (a first visit at scale, before the columns are in): the titles the
 * publisher ranked by popularity, each "Popular with readers". Their events are recorded by id once the
 * engine is ready, as a restored feed's.
 */
export function headFeed(head: ColumnsHead, size = 20): FeedItem[] {
  return head.popular.slice(0, size).map((item) => ({
    id: item.id,
    title: item.title,
    ...(item.year === undefined ? {} : { year: item.year }),
    ...(item.genres?.length ? { genres: item.genres } : {}),
    reason: 'Popular with readers',
    why: [{ kind: 'popular', share: 1 }],
  }));
}
