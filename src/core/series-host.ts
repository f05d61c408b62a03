/**
 * Which series a companion or a collection belongs to when its title names no volume: the series'
 * names indexed by author and by first word (indexNames), and the match (findHost).
 */
import { COMPANION_WORDS, containsWords, startsWithWords } from './series-title';

/**
 * The group a companion or collection title belongs to: a series it names, by an author it shares
 * (the name anywhere in the title, or the series' core words: "The Great Dune Trilogy"), or, by
 * another author, a companion (not a mere collection) whose title opens with a series' main name
 * ("Twilight: The Complete Illustrated Movie Companion"; a series of at least 3 books, so Discworld's
 * "Death" does not claim Neil Gaiman's "Death: The High Cost of Living Collected").
 */
export function findHost(
  titleKey: string,
  head: string,
  authors: readonly string[],
  companion: boolean,
  names: SeriesNames,
  ownGroup: number,
  world?: string,
): number | undefined {
  // Candidates by a shared author, longest name first (each author's list is in that order).
  const shared = authors.length === 1 ? (names.byAuthor.get(authors[0]!) ?? []) : mergeByLength(authors.map((a) => names.byAuthor.get(a) ?? []));
  const padded = ` ${titleKey} `;
  for (const name of shared) {
    if (name.g === ownGroup) continue;
    // "The World of Ice & Fire" by George R.R. Martin et al.: the world named is part of the series' name.
    if (padded.includes(` ${name.key} `) || (world && world.includes(' ') && containsWords(name.key, world))) return name.g;
  }
  if (!companion) return undefined;
  for (const name of names.byFirstWord.get(titleKey.split(' ', 1)[0]!) ?? []) {
    if (name.g === ownGroup || !startsWithWords(titleKey, name.key) || titleKey === name.key) continue;
    // The name is the whole head ("Twilight: …") or a companion word follows it at once ("Twilight
    // Director's Notebook"), not merely the same first word ("The Legend of Sleepy Hollow" ≠ "Legend").
    const next = titleKey
      .slice(name.key.length + 1)
      .split(' ')
      .slice(0, 3)
      .join(' ');
    if (head === name.key || world !== undefined || COMPANION_WORDS.test(next)) return name.g;
  }
  return undefined;
}

function mergeByLength(lists: readonly (readonly SeriesName[])[]): SeriesName[] {
  return [...new Set(lists.flat())].sort((a, b) => b.key.length - a.key.length);
}

/** The names findHost matches, indexed: by author (any name), and main names of 3+ books by first word. */
export interface SeriesNames {
  byAuthor: Map<string, SeriesName[]>;
  byFirstWord: Map<string, SeriesName[]>;
}

export function indexNames(names: readonly SeriesName[]): SeriesNames {
  const byAuthor = new Map<string, SeriesName[]>();
  const byFirstWord = new Map<string, SeriesName[]>();
  for (const name of names) {
    for (const author of name.authors) {
      const list = byAuthor.get(author);
      if (list) list.push(name);
      else byAuthor.set(author, [name]);
    }
    if (name.main && name.size >= 3) {
      const first = name.key.split(' ', 1)[0]!;
      const list = byFirstWord.get(first);
      if (list) list.push(name);
      else byFirstWord.set(first, [name]);
    }
  }
  return { byAuthor, byFirstWord };
}

export interface SeriesName {
  key: string;
  /** The group the name belongs to. */
  g: number;
  authors: Set<string>;
  /** Books in that group. */
  size: number;
  /** The group's main series (not a sub-series such as Discworld's "Death", not core words). */
  main: boolean;
}
