/**
 * Cleaning readers' shelves (goodbooks-10k's book_tags.csv: every shelf name people put a book on,
 * with how many did) into a few labels that say what a book is, and genres for books that have none.
 *
 * The rule, in order:
 *  1. Spelling. A shelf name is folded to lowercase ASCII words joined by "-" (accents removed:
 *     "clàssics" → "classics"; "&" → "and"; "_", spaces and dots → "-"). A name with anything else
 *     left (another script, emoji, punctuation) is dropped: it cannot be read by the English encoder
 *     and is nearly always a personal shelf.
 *  2. Near-duplicates. Common abbreviations become words ("sci-fi", "scifi", "sf" → "science-fiction",
 *     "ya" → "young-adult", "non-fiction" → "nonfiction", "humour" → "humor", "children-s"/"kids" →
 *     "childrens", "lit" → "literature", "historical" → "historical-fiction"), the last word is made
 *     singular for comparing ("mysteries" = "mystery", "vampires" = "vampire"), and the words "book(s)"
 *     and "novel(s)" are dropped from compounds ("childrens-books" = "childrens"). Shelves that are then
 *     the same are one label, spelled as the genre list spells it if it is a genre, else as readers
 *     spelled it most.
 *  3. Noise. Dropped: any name with a digit (years, "2015-reading-challenge", "5-stars", "1001-books"),
 *     except centuries ("19th-century"); any name with a word about the reader rather than the book:
 *     reading state (to-read, currently-reading, tbr, dnf, re-read, finished, abandoned…), owning and
 *     format (owned, books-i-own, my-library, kindle, ebook, audiobook, paperback, library, wish-list,
 *     to-buy…), opinion (favorites, faves, all-time-…, loved, recommended, must-read, guilty-pleasures),
 *     lists, clubs and challenges (book-club, challenge, rory-gilmore, school, college, shelfari…), and
 *     bookkeeping (default, series, stand-alone, reviewed, arc, calibre…); the generic words alone
 *     ("books", "novels", "adult", "english", "general", "other"); people's names (a shelf whose words
 *     are all words of the book's own authors' names, "suzanne-collins", "tolkien", "j-r-r-tolkien",
 *     "author-larissa-ione", or that is the full name of any author of the catalog); and titles (a
 *     shelf whose words all occur in the book's title: "hunger-games" on The Hunger Games).
 *  4. Shared use. A label is kept only if at least MIN_BOOKS books of the catalog carry it: one
 *     reader's private system ("shelf-3", a series' name, a friend's name) does not describe a book
 *     to anyone else.
 *  5. Share. For each book, a label is telling when its readers' count is at least MIN_SHARE of the
 *     count of that book's most used label (step 1–4 survivors), and at least MIN_COUNT readers:
 *     "meaningful share of the book's shelvers" measured against the shelvers who classified it at all
 *     (to-read, which dwarfs everything, says nothing about the book). The most used come first.
 *
 * Genres for a book without any (goodbooks: 931 of 10,000) come from its telling labels mapped onto the
 * catalog's genre names: a label that is a genre, or is made only of genre words ("mystery-thriller",
 * "paranormal-romance"), or ends in one ("urban-fantasy" → fantasy), or is a known alias ("comedy" →
 * humor-and-comedy), credits its readers' count to those genres; genres credited with at least
 * GENRE_MIN_SHARE of the top genre's count are the book's genres, most credited first. The same rule,
 * run on the 9,069 books that have Goodreads genres, is checked against them in shelves.test.ts.
 *
 * The word lists of steps 2 and 3 and the genre aliases are data, in shelf-words.ts.
 */

import { GENERIC, GENRE_ALIASES, KEEP_WHOLE, NOISE_WORDS, PHRASE_SYNONYMS, WORD_SYNONYMS } from './shelf-words';

export interface Shelf {
  name: string;
  count: number;
}

export interface ShelvedBook {
  id: string;
  title: string;
  authors: readonly string[];
  shelves: readonly Shelf[];
}

export interface Label {
  /** The label as shown and read ("science-fiction", "post-apocalyptic"). */
  name: string;
  /** Readers who put the book on a shelf with this label (the sum over shelves merged into it). */
  count: number;
}

export const MIN_BOOKS = 20;
export const MIN_SHARE = 0.05;
export const MIN_COUNT = 3;
export const GENRE_MIN_SHARE = 0.1;

const ALIAS_BY_KEY = new Map(Object.entries(GENRE_ALIASES).map(([label, genres]) => [normaliseShelf(label)?.key ?? label, genres]));

/** Folds a shelf name to lowercase ASCII words joined by "-" (step 1); undefined when junk is left. */
export function foldShelfName(name: string): string | undefined {
  const folded = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, '-and-')
    .replace(/['’]/g, '-')
    .replace(/[\s_.]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return folded !== '' && /^[a-z0-9-]+$/.test(folded) ? folded : undefined;
}

/** A word made singular for comparing ("mysteries" → "mystery"); short words and "-ss"/"-us"/"-is" kept. */
function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(ches|shes|sses|xes|oes)$/.test(word)) return word.slice(0, -2);
  if (word.length > 4 && word.endsWith('lves')) return `${word.slice(0, -3)}f`;
  if (word.length > 3 && word.endsWith('s') && !/(ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}

/**
 * A shelf's label spelling after step 2 ("sci-fi-fantasy" → "science-fiction-fantasy"), and its key for
 * comparing (last word singular, "book(s)"/"novel(s)" dropped from compounds); undefined for junk or a
 * name with a digit that is not a century.
 */
export function normaliseShelf(name: string): { label: string; key: string } | undefined {
  const folded = foldShelfName(name);
  if (folded === undefined) return undefined;
  if (/\d/.test(folded) && !/^\d{1,2}(st|nd|rd|th)-century$/.test(folded)) return undefined;
  let label = PHRASE_SYNONYMS[folded] ?? folded;
  label = label
    .replace(/(^|-)sci-fi(?=-|$)/g, '$1science-fiction')
    .replace(/(^|-)non-fiction(?=-|$)/g, '$1nonfiction')
    .replace(/(^|-)children-s(?=-|$)/g, '$1childrens')
    .split('-')
    .map((word) => WORD_SYNONYMS[word] ?? word)
    .join('-');
  label = (PHRASE_SYNONYMS[label] ?? label).replace(/(^|-)(chick|chic)-literature(?=-|$)/g, '$1chick-lit');
  let words = label.split('-');
  if (words.length > 1 && !KEEP_WHOLE.has(label)) {
    const content = words.filter((word, i) => !/^(books?|novels?)$/.test(word) || (words[i - 1] === 'graphic' && word.startsWith('novel')));
    if (content.length > 0) words = content;
  }
  label = words.join('-');
  // Compared without the hyphens: "fairy-tales" = "fairytales", "self-help" = "selfhelp".
  const key = [...words.slice(0, -1), singular(words.at(-1)!)].join('');
  return { label, key };
}

/** Name tokens ("J.R.R. Tolkien" → j, r, tolkien), folded as shelf names are. */
function nameWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** What step 3 needs to know of a book: the words of its authors' names and of its title. */
interface BookWords {
  people: ReadonlySet<string>;
  title: ReadonlySet<string>;
}

function bookWords(book: { title: string; authors: readonly string[] }): BookWords {
  return { people: new Set(book.authors.flatMap(nameWords)), title: new Set(nameWords(book.title).map(singular)) };
}

const NOT_A_NAME = new Set(['author', 'authors', 'by', 'books', 'book', 'and']);
const NOT_A_TITLE = new Set(['the', 'a', 'an', 'of', 'and']);

function isNoise(folded: string, key: string, words: BookWords, authorNames: ReadonlySet<string>): boolean {
  const parts = folded.split('-');
  if (parts.some((word) => NOISE_WORDS.has(word))) return true;
  if (GENERIC.has(key)) return true;
  if (authorNames.has(folded)) return true;
  const personal = parts.filter((word) => !NOT_A_NAME.has(word));
  if (personal.length > 0 && personal.every((word) => words.people.has(word))) return true;
  const content = parts.filter((word) => !NOT_A_TITLE.has(word));
  return content.length > 0 && content.every((word) => words.title.has(singular(word)));
}

/**
 * True when a shelf is noise for this book (step 1 junk, or step 3): about the reader, generic, a
 * person's name or the book's title. `authorNames`: full names of the catalog's authors, folded.
 */
export function isNoiseShelf(name: string, book: { title: string; authors: readonly string[] }, authorNames: ReadonlySet<string> = new Set()): boolean {
  const normal = normaliseShelf(name);
  if (!normal) return true;
  const words = bookWords(book);
  return isNoise(foldShelfName(name)!, normal.key, words, authorNames) || isNoise(normal.label, normal.key, words, authorNames);
}

/**
 * Each book's telling labels (steps 1–5), most used first, keyed by book id. `genreNames` (the
 * catalog's genre list) decides how a label that is a genre is spelled.
 */
export function cleanShelves(
  books: readonly ShelvedBook[],
  genreNames: readonly string[] = [],
  options: { minBooks?: number; minShare?: number; minCount?: number } = {},
): Map<string, Label[]> {
  const minBooks = options.minBooks ?? MIN_BOOKS;
  const minShare = options.minShare ?? MIN_SHARE;
  const minCount = options.minCount ?? MIN_COUNT;
  const authorNames = new Set(books.flatMap((book) => book.authors.map((author) => nameWords(author).join('-'))).filter((name) => name.includes('-')));
  // How readers spelled each label, over the whole catalog (by readers' count).
  const spellings = new Map<string, Map<string, number>>();
  // Steps 1–2 once per distinct name (goodbooks: 34,000 names on 1,000,000 shelves).
  const normals = new Map<string, { folded: string; label: string; key: string } | undefined>();
  const normalOf = (name: string) => {
    if (!normals.has(name)) {
      const normal = normaliseShelf(name);
      normals.set(name, normal && { folded: foldShelfName(name)!, ...normal });
    }
    return normals.get(name);
  };
  // Steps 1–3, per book: counts by key.
  const perBook = books.map((book) => {
    const byKey = new Map<string, number>();
    const words = bookWords(book);
    for (const shelf of book.shelves) {
      if (!(shelf.count > 0)) continue;
      const normal = normalOf(shelf.name);
      if (!normal) continue;
      if (isNoise(normal.folded, normal.key, words, authorNames) || isNoise(normal.label, normal.key, words, authorNames)) continue;
      byKey.set(normal.key, (byKey.get(normal.key) ?? 0) + shelf.count);
      spellings.set(normal.key, spellings.get(normal.key) ?? new Map());
      const spelled = spellings.get(normal.key)!;
      spelled.set(normal.label, (spelled.get(normal.label) ?? 0) + shelf.count);
    }
    return byKey;
  });
  // Step 4: labels carried by enough books.
  const booksWith = new Map<string, number>();
  for (const byKey of perBook) for (const key of byKey.keys()) booksWith.set(key, (booksWith.get(key) ?? 0) + 1);
  const genreByKey = new Map(genreNames.map((genre) => [normaliseShelf(genre)?.key ?? genre, genre]));
  const spellingOf = (key: string) => genreByKey.get(key) ?? [...spellings.get(key)!].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  // Step 5: labels with a meaningful share of the book's classifying readers.
  const result = new Map<string, Label[]>();
  books.forEach((book, i) => {
    const kept = [...perBook[i]!].filter(([key]) => (booksWith.get(key) ?? 0) >= minBooks).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top = kept[0]?.[1] ?? 0;
    result.set(
      book.id,
      kept.filter(([, count]) => count >= minCount && count >= minShare * top).map(([key, count]) => ({ name: spellingOf(key), count })),
    );
  });
  return result;
}

/** The genres a label stands for (see the module comment): itself, its genre words, its head, or an alias. */
export function genresOfLabel(label: string, genreNames: readonly string[]): string[] {
  return readLabel(label, genreNames).genres;
}

/**
 * True when a label says nothing the genres do not: a genre itself, or made only of genre words
 * ("mystery-thriller", "young-adult-fiction"). Such labels are not shown as tags next to the genres.
 */
export function isGenreLabel(label: string, genreNames: readonly string[]): boolean {
  return readLabel(label, genreNames).onlyGenres;
}

const genreKeyCache = new WeakMap<readonly string[], Map<string, string>>();
/** The genre names by their comparing key (cached per list: asked once per label). */
function genresByKey(genreNames: readonly string[]): Map<string, string> {
  let byKey = genreKeyCache.get(genreNames);
  if (!byKey) genreKeyCache.set(genreNames, (byKey = new Map(genreNames.map((genre) => [normaliseShelf(genre)?.key ?? genre, genre]))));
  return byKey;
}

function readLabel(label: string, genreNames: readonly string[]): { genres: string[]; onlyGenres: boolean } {
  const normal = normaliseShelf(label);
  if (!normal) return { genres: [], onlyGenres: false };
  const byKey = genresByKey(genreNames);
  const direct = byKey.get(normal.key);
  if (direct) return { genres: [direct], onlyGenres: true };
  const alias = GENRE_ALIASES[normal.label] ?? ALIAS_BY_KEY.get(normal.key);
  if (alias) return { genres: alias.filter((genre) => genreNames.includes(genre)), onlyGenres: false };
  // Made of genre words ("mystery-thriller", "science-fiction-fantasy"), longest match first, or ending in one.
  const words = normal.label.split('-');
  const found: string[] = [];
  let covered = true;
  for (let start = 0; start < words.length;) {
    let matched = 0;
    for (let end = words.length; end > start; end--) {
      const piece = words.slice(start, end);
      const key = [...piece.slice(0, -1), singular(piece.at(-1)!)].join('');
      const genre = byKey.get(key);
      if (genre) {
        if (!found.includes(genre)) found.push(genre);
        matched = end - start;
        break;
      }
    }
    if (matched === 0) {
      if (!['and', 'fiction', 'literature'].includes(words[start]!)) covered = false;
      start++;
    } else start += matched;
  }
  if (covered) return { genres: found, onlyGenres: found.length > 0 };
  const last = found.at(-1);
  const tail = last ? normaliseShelf(last)?.label.split('-') : undefined;
  return { genres: last && tail && words.slice(-tail.length).join('-') === tail.join('-') ? [last] : [], onlyGenres: false };
}

/** Genres from a book's telling labels (see the module comment), most credited first. */
export function genresFromLabels(labels: readonly Label[], genreNames: readonly string[], minShare = GENRE_MIN_SHARE): string[] {
  const credit = new Map<string, number>();
  for (const label of labels) for (const genre of genresOfLabel(label.name, genreNames)) credit.set(genre, (credit.get(genre) ?? 0) + label.count);
  const ranked = [...credit].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const top = ranked[0]?.[1] ?? 0;
  return ranked.filter(([, count]) => count >= minShare * top).map(([genre]) => genre);
}
