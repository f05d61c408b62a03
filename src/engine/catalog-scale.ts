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
import type { CatalogColumns } from '../core/catalog-columns';
import type { CatalogIndex } from '../core/catalog-index';
import type { StoredRows } from '../core/catalog-rows';
import type { CatalogView } from '../core/catalog-view';
import { encoderText } from '../core/item-text';

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
    return this.columns.indexOf(id);
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
