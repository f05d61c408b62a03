/** "What do you like to read?": the genres offered as chips, the ones chosen, and the books a chosen genre stands for. */
import type { EngineCatalog } from './catalog-scale';
import { normalized } from '../core/vector';
import type { StoredEvent } from '../storage/db';
import type { EngineSnapshot } from './api';

/** A genre is offered as a chip when at least this many books have it. */
const GENRE_MIN_BOOKS = 10;
/**
 * A chosen genre stands for its this-many most popular books (those with vectors): their mean vector
 * pulls the content profile, and each is a weak like (EVENT_WEIGHTS.genre) for the model. They are not
 * marked as read: they stay in the feed.
 */
export const GENRE_SEED_BOOKS = 10;

type Rows = readonly (Float32Array | undefined)[];

/** The genre's most popular books, read or not: what its vector will be the mean of. */
export function genreSeedCandidates(catalog: EngineCatalog, genre: string): number[] {
  return catalog.genreBooks().get(genre)?.slice(0, GENRE_SEED_BOOKS) ?? [];
}

/** The books a chosen genre stands for: its most popular ones that have vectors now. */
export function genreSeeds(catalog: EngineCatalog, rows: Rows, genre: string): number[] {
  return (catalog.genreBooks().get(genre) ?? []).filter((index) => rows[index]).slice(0, GENRE_SEED_BOOKS);
}

/** The unit mean vector of a genre's seed books; undefined for a genre the catalog lacks or none of whose books is read yet. */
export function genreEmbedding(catalog: EngineCatalog, rows: Rows, genre: string): Float32Array | undefined {
  const seeds = genreSeeds(catalog, rows, genre);
  const first = seeds[0] === undefined ? undefined : rows[seeds[0]];
  if (!first) return undefined;
  const sum = new Float32Array(first.length);
  for (const index of seeds) {
    const vector = rows[index]!;
    if (vector.length !== sum.length) continue;
    for (let j = 0; j < sum.length; j++) sum[j]! += vector[j]!;
  }
  return normalized(sum);
}

/** The genres chosen, in the order chosen: only those this catalog has (an imported choice of another genre is kept in the history, unused). */
export function chosenGenres(catalog: EngineCatalog, events: readonly StoredEvent[]): string[] {
  const genres = catalog.genreBooks();
  const chosen = events.filter((event) => event.kind === 'genre' && genres.has(event.itemId)).map((event) => event.itemId);
  return [...new Set(chosen)];
}

/** The chips to offer (genres with enough books, most books first) and the genres chosen. */
export function genreSnapshot(catalog: EngineCatalog, events: readonly StoredEvent[]): Pick<EngineSnapshot, 'genres' | 'chosenGenres'> {
  const offered = [...catalog.genreBooks()]
    .filter(([, books]) => books.length >= GENRE_MIN_BOOKS)
    .map(([name, books]) => ({ name, books: books.length }))
    .sort((a, b) => b.books - a.books || a.name.localeCompare(b.name));
  return { genres: offered.length > 0 ? offered : undefined, chosenGenres: chosenGenres(catalog, events) };
}
