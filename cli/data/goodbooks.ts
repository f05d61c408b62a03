/**
 * Reads goodbooks-10k (../shared/data/goodbooks-10k, CC BY-SA 4.0): books.csv, book_genres.csv and the
 * readers' shelves (book_tags.csv with tags.csv's names; keyed there by goodreads_book_id, here by book_id).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Shelf } from '../../src/core/shelves';
import { PROJECT_ROOT } from '../model-paths';

export const GOODBOOKS_DIR = join(PROJECT_ROOT, '..', 'shared', 'data', 'goodbooks-10k');

export interface BookRow {
  book_id: string;
  goodreads_book_id: string;
  authors: string;
  original_publication_year: string;
  original_title: string;
  title: string;
  language_code: string;
  ratings_count: string;
}

export interface Goodbooks {
  books: BookRow[];
  /** Goodreads genres by book_id, most used first ('' rows: none); absent when the file is. */
  genres: Map<string, string[]>;
  /** Every genre name of book_genres.csv, by how many books have it. */
  genreNames: string[];
  /** Readers' shelves by book_id, most used first; empty when the files are absent. */
  shelves: Map<string, Shelf[]>;
}

export const hasGoodbooks = (dir = GOODBOOKS_DIR) => existsSync(join(dir, 'books.csv'));

export async function readGoodbooks(dir = GOODBOOKS_DIR, booksFile = join(dir, 'books.csv')): Promise<Goodbooks> {
  const books = parse(await readFile(booksFile, 'utf8'), { columns: true, skip_empty_lines: true }) as BookRow[];
  const genres = new Map<string, string[]>();
  const genreBooks = new Map<string, number>();
  if (existsSync(join(dir, 'book_genres.csv'))) {
    const rows = parse(await readFile(join(dir, 'book_genres.csv'), 'utf8'), { columns: true, skip_empty_lines: true }) as { book_id: string; genres: string }[];
    for (const row of rows) {
      const list = row.genres.split('|').map((genre) => genre.trim()).filter(Boolean);
      genres.set(row.book_id, list);
      for (const genre of list) genreBooks.set(genre, (genreBooks.get(genre) ?? 0) + 1);
    }
  }
  const shelves = new Map<string, Shelf[]>();
  if (existsSync(join(dir, 'book_tags.csv')) && existsSync(join(dir, 'tags.csv'))) {
    const tagNames = new Map<string, string>();
    for (const row of parse(await readFile(join(dir, 'tags.csv'), 'utf8'), { columns: true, skip_empty_lines: true }) as { tag_id: string; tag_name: string }[]) {
      tagNames.set(row.tag_id, row.tag_name);
    }
    const bookByGoodreads = new Map(books.map((book) => [book.goodreads_book_id, book.book_id]));
    // ~1M rows: split by hand (three plain columns, no quoting) rather than through the CSV parser's objects.
    const lines = (await readFile(join(dir, 'book_tags.csv'), 'utf8')).split('\n');
    for (let i = 1; i < lines.length; i++) {
      const [goodreadsId, tagId, count] = lines[i]!.trim().split(',');
      const bookId = bookByGoodreads.get(goodreadsId ?? '');
      const name = tagNames.get(tagId ?? '');
      const readers = Number(count);
      if (bookId === undefined || name === undefined || !Number.isFinite(readers)) continue;
      let list = shelves.get(bookId);
      if (!list) shelves.set(bookId, (list = []));
      list.push({ name, count: readers });
    }
    for (const list of shelves.values()) list.sort((a, b) => b.count - a.count);
  }
  const genreNames = [...genreBooks].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([genre]) => genre);
  return { books, genres, genreNames, shelves };
}

/** "Suzanne Collins, Mary GrandPré" → the names. */
export const authorsOf = (book: BookRow) => book.authors.split(',').map((author) => author.trim()).filter(Boolean);
