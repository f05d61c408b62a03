import { describe, expect, it } from 'vitest';
import { cleanShelves, foldShelfName, genresFromLabels, genresOfLabel, isGenreLabel, isNoiseShelf, normaliseShelf, type ShelvedBook } from './shelves';

const GENRES = [
  'fiction',
  'fantasy',
  'romance',
  'young-adult',
  'mystery',
  'thriller',
  'science-fiction',
  'paranormal',
  'nonfiction',
  'classics',
  'humor-and-comedy',
  'graphic-novels',
  'comics',
  'historical-fiction',
  'crime',
];
const hungerGames = { title: 'The Hunger Games (The Hunger Games, #1)', authors: ['Suzanne Collins'] };
const key = (name: string) => normaliseShelf(name)?.key;

describe('spelling and near-duplicates', () => {
  it('folds to lowercase ASCII words joined by "-", and drops names in other scripts or with symbols', () => {
    expect(foldShelfName('Clàssics')).toBe('classics');
    expect(foldShelfName('Sci Fi')).toBe('sci-fi');
    expect(foldShelfName('science_fiction')).toBe('science-fiction');
    expect(foldShelfName('Horror & Thriller')).toBe('horror-and-thriller');
    expect(foldShelfName('ロマンス')).toBeUndefined();
    expect(foldShelfName('фэнтези')).toBeUndefined();
    expect(foldShelfName('★★★★★')).toBeUndefined();
    expect(foldShelfName('--')).toBeUndefined();
  });

  it('merges spellings of the same label', () => {
    for (const group of [
      ['sci-fi', 'scifi', 'sf', 'science-fiction', 'Science Fiction', 'sciencefiction'],
      ['ya', 'young-adult', 'teen', 'young_adult'],
      ['non-fiction', 'nonfiction', 'non-fic'],
      ['mystery', 'mysteries'],
      ['fairy-tales', 'fairytales', 'fairy-tale'],
      ['childrens', 'children-s', 'childrens-books', 'kids', 'children-s-books', 'kids-books'],
      ['humor', 'humour', 'funny'],
      ['chick-lit', 'chicklit', 'chick-literature'],
      ['dystopia', 'dystopian'],
      ['vampire', 'vampires'],
    ]) {
      expect(new Set(group.map(key)).size, group.join(' ')).toBe(1);
    }
    expect(key('romance')).not.toBe(key('paranormal-romance'));
    expect(normaliseShelf('sci-fi-fantasy')?.label).toBe('science-fiction-fantasy');
  });

  it('drops every name with a digit except centuries', () => {
    for (const name of ['read-2016', '2015-reading-challenge', '5-stars', '1001-books', 'read-in-2012', '2017']) expect(normaliseShelf(name)).toBeUndefined();
    expect(normaliseShelf('19th-century')?.label).toBe('19th-century');
    expect(normaliseShelf('21st-century')?.label).toBe('21st-century');
  });
});

describe('noise (step 3)', () => {
  it('drops shelves about the reader, generic words, people and titles', () => {
    const noise = [
      'to-read',
      'currently-reading',
      'favorites',
      'favourites',
      'all-time-favorites',
      'owned',
      'books-i-own',
      'kindle',
      'ebook',
      'e-books',
      'library',
      'wish-list',
      'to-buy',
      'default',
      'series',
      're-read',
      'dnf',
      'did-not-finish',
      'abandoned',
      'audiobook',
      'book-club',
      'rory-gilmore-reading-challenge',
      'shelfari-favorites',
      '5-stars',
      '2015-reading-challenge',
      'novels',
      'books',
      'adult',
      'my-library',
      'suzanne-collins',
      'collins',
      'author-suzanne-collins',
      'hunger-games',
      'the-hunger-games',
      'ロマンス',
    ];
    for (const name of noise) expect(isNoiseShelf(name, hungerGames), name).toBe(true);
    for (const name of ['fantasy', 'dystopia', 'post-apocalyptic', 'science-fiction', 'survival', 'young-adult', '20th-century', 'love-triangle']) {
      expect(isNoiseShelf(name, hungerGames), name).toBe(false);
    }
  });

  it('takes initials and accents in authors’ names, and another author’s full name', () => {
    const hobbit = { title: 'The Hobbit', authors: ['J.R.R. Tolkien'] };
    expect(isNoiseShelf('j-r-r-tolkien', hobbit)).toBe(true);
    expect(isNoiseShelf('tolkien', hobbit)).toBe(true);
    expect(isNoiseShelf('garcia-marquez', { title: 'One Hundred Years of Solitude', authors: ['Gabriel García Márquez'] })).toBe(true);
    expect(isNoiseShelf('stephen-king', hobbit)).toBe(false);
    expect(isNoiseShelf('stephen-king', hobbit, new Set(['stephen-king']))).toBe(true);
  });
});

describe('cleanShelves', () => {
  const shelf = (name: string, count: number) => ({ name, count });
  const book = (id: string, shelves: { name: string; count: number }[]): ShelvedBook => ({ id, title: `Book ${id}`, authors: ['Ann Author'], shelves });

  it('keeps labels many books share, with a meaningful share of the book’s top label, most used first', () => {
    const books = [
      book('a', [
        shelf('to-read', 90_000),
        shelf('favorites', 5000),
        shelf('sci-fi', 600),
        shelf('science-fiction', 500),
        shelf('dystopia', 300),
        shelf('robots', 40),
        shelf('my-friend-bob', 900),
      ]),
      ...Array.from({ length: 4 }, (_, i) => book(`f${i}`, [shelf('fantasy', 100), shelf('dystopia', 10), shelf('science-fiction', 10), shelf('robots', 10)])),
    ];
    const labels = cleanShelves(books, GENRES, { minBooks: 3 }).get('a')!;
    // sci-fi and science-fiction are one label (1,100 readers), spelled as the genre list spells it;
    // "robots" (40 < 5 % of 1,100) is not telling here, "my-friend-bob" is on one book only.
    expect(labels).toEqual([
      { name: 'science-fiction', count: 1100 },
      { name: 'dystopia', count: 300 },
    ]);
    expect(cleanShelves(books, GENRES, { minBooks: 6 }).get('a')).toEqual([]);
  });

  it('gives a book with no usable shelf no labels', () => {
    expect(cleanShelves([book('x', [shelf('to-read', 10)]), book('y', [])], GENRES, { minBooks: 1 }).get('y')).toEqual([]);
  });
});

describe('genres from labels', () => {
  it('maps labels onto the genre names', () => {
    expect(genresOfLabel('mystery-thriller', GENRES)).toEqual(['mystery', 'thriller']);
    expect(genresOfLabel('sci-fi', GENRES)).toEqual(['science-fiction']);
    expect(genresOfLabel('science-fiction-fantasy', GENRES)).toEqual(['science-fiction', 'fantasy']);
    expect(genresOfLabel('epic-fantasy', GENRES)).toEqual(['fantasy']);
    expect(genresOfLabel('comedy', GENRES)).toEqual(['humor-and-comedy']);
    expect(genresOfLabel('graphic-novel', GENRES)).toEqual(['graphic-novels']);
    expect(genresOfLabel('detective', GENRES)).toEqual(['mystery', 'crime']);
    expect(genresOfLabel('dragons', GENRES)).toEqual([]);
    expect(genresOfLabel('fantasy-adjacent-stuff', GENRES)).toEqual([]);
  });

  it('says which labels repeat the genres (not worth a tag)', () => {
    expect(isGenreLabel('fantasy', GENRES)).toBe(true);
    expect(isGenreLabel('young-adult-fiction', GENRES)).toBe(true);
    expect(isGenreLabel('mystery-thriller', GENRES)).toBe(true);
    expect(isGenreLabel('urban-fantasy', GENRES)).toBe(false);
    expect(isGenreLabel('dystopia', GENRES)).toBe(false);
  });

  it('keeps the genres credited with at least a tenth of the top one, most credited first', () => {
    const labels = [
      { name: 'fantasy', count: 1000 },
      { name: 'epic-fantasy', count: 200 },
      { name: 'mystery-thriller', count: 150 },
      { name: 'romance', count: 90 },
    ];
    expect(genresFromLabels(labels, GENRES)).toEqual(['fantasy', 'mystery', 'thriller']);
    expect(genresFromLabels([], GENRES)).toEqual([]);
  });
});
