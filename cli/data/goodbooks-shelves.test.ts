/**
 * The shelf-cleaning rule (core/shelves) on all of goodbooks-10k's shelves, and the shipped catalog's
 * genres and tags that the catalog builder made with it. Skipped where ../shared is not there.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCatalogText } from '../../src/core/catalog';
import { cleanShelves, genresFromLabels, type Label } from '../../src/core/shelves';
import { authorsOf, hasGoodbooks, readGoodbooks, type Goodbooks } from './goodbooks';

describe.skipIf(!hasGoodbooks())('shelves of goodbooks-10k', () => {
  let data: Goodbooks;
  let labels: Map<string, Label[]>;
  let genreNames: string[];
  beforeAll(async () => {
    data = await readGoodbooks();
    genreNames = data.genreNames.filter((genre) => genre !== 'books');
    labels = cleanShelves(
      data.books.map((book) => ({ id: book.book_id, title: book.title, authors: authorsOf(book), shelves: data.shelves.get(book.book_id) ?? [] })),
      genreNames,
    );
  }, 60_000);

  it('keeps no shelf about the reader, no year, no rating, nothing in another script', () => {
    const noise = /(^|-)(to-read|read|reading|owned|own|kindle|e?books?|audiobooks?|library|favou?rites?|faves?|wish|default|dnf|tbr|series|shelfari|challenge|stars?)(-|$)|\d{4}/;
    // Kinds of book, where "books" is part of the name.
    const kinds = new Set(['picture-books', 'chapter-books', 'board-books']);
    const bad = new Set<string>();
    for (const list of labels.values()) for (const label of list) if ((noise.test(label.name) && !kinds.has(label.name)) || !/^[a-z0-9-]+$/.test(label.name)) bad.add(label.name);
    expect([...bad]).toEqual([]);
  });

  it('leaves nearly every book some telling labels, a few each', () => {
    const counts = [...labels.values()].map((list) => list.length);
    expect(counts.filter((n) => n > 0).length).toBeGreaterThan(0.99 * counts.length);
    expect(counts.reduce((a, b) => a + b, 0) / counts.length).toBeLessThan(15);
  });

  it('derives genres that agree with Goodreads’ genres where a book has them', () => {
    // The same rule that fills in the 931 books without genres, checked on the 9,069 with.
    let hits = 0;
    let derivedCount = 0;
    let firstRight = 0;
    let judged = 0;
    for (const book of data.books) {
      const truth = (data.genres.get(book.book_id) ?? []).filter((genre) => genre !== 'books');
      if (truth.length === 0) continue;
      judged++;
      const derived = genresFromLabels(labels.get(book.book_id) ?? [], genreNames);
      derivedCount += derived.length;
      hits += derived.filter((genre) => truth.includes(genre)).length;
      if (derived[0] && truth.includes(derived[0])) firstRight++;
    }
    expect(judged).toBe(9069);
    // Measured: precision 0.93, first genre right for 97 % of books, recall 0.72.
    expect(hits / derivedCount).toBeGreaterThan(0.9);
    expect(firstRight / judged).toBeGreaterThan(0.95);
  });

  it('is what the shipped catalog carries: Goodreads genres where present, derived ones elsewhere, tags from the cleaned shelves', () => {
    const catalog = parseCatalogText(readFileSync('public/catalog/goodbooks-10k.json', 'utf8'));
    expect(catalog.items).toHaveLength(10_000);
    const known = new Set(genreNames);
    let derived = 0;
    for (const item of catalog.items) {
      const truth = (data.genres.get(item.id) ?? []).filter((genre) => genre !== 'books');
      if (truth.length > 0) expect(item.genres).toEqual(truth);
      else {
        derived++;
        expect(item.genres ?? []).toEqual(genresFromLabels(labels.get(item.id) ?? [], genreNames));
      }
      for (const genre of item.genres ?? []) expect(known.has(genre), genre).toBe(true);
      const telling = new Set((labels.get(item.id) ?? []).map((label) => label.name));
      for (const tag of item.tags ?? []) expect(telling.has(tag), `${item.id} ${tag}`).toBe(true);
      expect((item.tags ?? []).length).toBeLessThanOrEqual(5);
    }
    expect(derived).toBe(931);
    expect(catalog.items.filter((item) => item.genres).length).toBeGreaterThan(9990);
  });
});
