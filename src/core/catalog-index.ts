/**
 * A parsed catalog as the engine reads it on every event: item indices by id, the text each item is
 * encoded and searched by, titles, popularity, recency and the books of each genre, built once.
 */
import type { CatalogItem } from './catalog';
import type { CatalogView } from './catalog-view';
import { textHash } from './hash';
import { encoderText } from './item-text';
import { catalogFingerprint } from './model/identity';
import { popularityScores } from './rank';

export class CatalogIndex implements CatalogView {
  readonly indexById = new Map<string, number>();
  /** What the encoder reads (and the text search indexes): the text with the item's genres, tags, description. */
  readonly texts: string[];
  readonly titles: string[];
  /** The embedding cache's key of each item's text. */
  readonly hashes: string[];
  readonly popularity: Float32Array;
  /** Items whose year is known, scaled to [0, 1] (newest 1): the ranker's recency feature. */
  readonly recency: Float32Array;
  private booksByGenre: Map<string, number[]> | undefined;
  private fingerprintOfIds: string | undefined;

  constructor(readonly items: CatalogItem[]) {
    items.forEach((item, index) => this.indexById.set(item.id, index));
    this.popularity = popularityScores(items);
    this.texts = items.map((item) => encoderText(item));
    this.titles = items.map((item) => item.title);
    this.hashes = this.texts.map((text) => textHash(text));
    this.recency = recencyScores(items);
  }

  get size(): number {
    return this.items.length;
  }

  indexOf(id: string): number | undefined {
    return this.indexById.get(id);
  }

  title(index: number): string {
    return this.titles[index]!;
  }

  textHash(index: number): string {
    return this.hashes[index]!;
  }

  /** What a model or a shipped file belongs to: this catalog's item ids, in order. */
  fingerprint(): string {
    this.fingerprintOfIds ??= catalogFingerprint(this.items.map((item) => item.id));
    return this.fingerprintOfIds;
  }

  /** The catalog's genres and their books, most popular first. */
  genreBooks(): Map<string, number[]> {
    if (this.items.length === 0) return new Map(); // no catalog yet: nothing to keep
    if (!this.booksByGenre) {
      const byGenre = new Map<string, number[]>();
      this.items.forEach((item, index) => {
        // Read defensively: a catalog (or an item) may carry no genres.
        for (const genre of Array.isArray(item.genres) ? item.genres : []) {
          const books = byGenre.get(genre);
          if (books) books.push(index);
          else byGenre.set(genre, [index]);
        }
      });
      for (const books of byGenre.values()) books.sort((a, b) => this.popularity[b]! - this.popularity[a]! || a - b);
      this.booksByGenre = byGenre;
    }
    return this.booksByGenre;
  }
}

/** Publication year scaled to [0, 1] over the catalog (newest 1); 0 where unknown. */
export function recencyScores(items: readonly CatalogItem[]): Float32Array {
  const years = items.map((item) => item.year).filter((year): year is number => year !== undefined);
  if (years.length === 0) return new Float32Array(items.length);
  // Loops, not Math.min(...years): spreading a large catalog's years overflows a worker's stack.
  const oldest = Math.max(
    years.reduce((a, b) => Math.min(a, b), Infinity),
    1800,
  );
  const newest = years.reduce((a, b) => Math.max(a, b), -Infinity);
  const span = newest - oldest || 1;
  return Float32Array.from(items, (item) => (item.year === undefined ? 0 : Math.min(1, Math.max(0, (item.year - oldest) / span))));
}

/** Items embedded together are padded to the longest text of their batch. */
const LENGTH_SORT_WINDOW = 512;

/**
 * Most popular first (those are what a new user sees and likes), but sorted by text length inside
 * windows of LENGTH_SORT_WINDOW items, so batches hold texts of similar length (less padding per batch).
 */
export function embeddingOrder(indices: number[], popularity: Float32Array, length: (index: number) => number): number[] {
  const byPopularity = [...indices].sort((a, b) => popularity[b]! - popularity[a]!);
  const order: number[] = [];
  for (let start = 0; start < byPopularity.length; start += LENGTH_SORT_WINDOW) {
    order.push(...byPopularity.slice(start, start + LENGTH_SORT_WINDOW).sort((a, b) => length(a) - length(b)));
  }
  return order;
}
