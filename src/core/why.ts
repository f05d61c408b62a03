/**
 * Why an item is in the feed, as a short list of terms with their shares, strongest first; the first
 * one, in words, is the card's one-line reason. Both rankers (core/rank.ts, core/model/ranking.ts)
 * split their own score into parts and hand them here; this module only merges, orders and words them.
 *
 * A part's magnitude is how much it lifts the item above the average candidate of the same feed
 * (its contribution minus the pool's mean contribution, when positive): what makes this item rank
 * where it does, rather than what every candidate has (every book has some popularity and some cosine
 * to the profile). Shares are magnitudes over the sum of all positive parts, so they sum to ≤ 1.
 */

/** One reason, as data (the engine turns item indices into ids and titles). */
export type WhyTerm =
  | { kind: 'liked'; item: number; share: number }
  | { kind: 'genre'; genre: string; likedCount: number; share: number }
  | { kind: 'query'; query: string; share: number }
  | { kind: 'popular'; share: number }
  | { kind: 'new'; share: number }
  | { kind: 'taste'; share: number }
  /** The item on screen (a widget on a product page): "Similar to X". */
  | { kind: 'similar'; item: number; share: number };

type Unshared<T> = T extends unknown ? Omit<T, 'share'> : never;
export type WhyLabel = Unshared<WhyTerm>;

export interface WhyPart {
  label: WhyLabel;
  /** How much this part lifts the item (any sign; ≤ 0 is dropped). */
  magnitude: number;
}

/** At most this many terms in a "Why?" list. */
export const MAX_WHY_TERMS = 4;

function sameLabel(a: WhyLabel, b: WhyLabel): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'liked':
    case 'similar':
      return a.item === (b as typeof a).item;
    case 'genre':
      return a.genre === (b as typeof a).genre;
    case 'query':
      return a.query === (b as typeof a).query;
    default:
      return true;
  }
}

/**
 * The terms of a "Why?" list: parts with the same label summed, non-positive ones dropped, the rest
 * by magnitude (strongest first, ties in the order given), each with its share of the positive total;
 * at most MAX_WHY_TERMS. Empty when no part is positive.
 */
export function rankWhy(parts: readonly WhyPart[]): WhyTerm[] {
  const merged: WhyPart[] = [];
  for (const part of parts) {
    if (!Number.isFinite(part.magnitude)) continue;
    const known = merged.find((m) => sameLabel(m.label, part.label));
    if (known) known.magnitude += part.magnitude;
    else merged.push({ label: part.label, magnitude: part.magnitude });
  }
  const positive = merged.filter((part) => part.magnitude > 0);
  const total = positive.reduce((sum, part) => sum + part.magnitude, 0);
  if (!(total > 0)) return [];
  return positive
    .map((part, order) => ({ part, order }))
    .sort((a, b) => b.part.magnitude - a.part.magnitude || a.order - b.order)
    .slice(0, MAX_WHY_TERMS)
    .map(({ part }) => ({ ...part.label, share: part.magnitude / total }) as WhyTerm);
}

/** "young-adult" → "young adult"; the English words for a genre name in a sentence. */
export function genreWords(genre: string): string {
  const special: Record<string, string> = { 'graphic-novels': 'graphic novel', comics: 'comic', 'chick-lit': 'chick-lit', 'self-help': 'self-help' };
  return special[genre] ?? genre.replace(/[-_]+/g, ' ').trim();
}

function withArticle(words: string): string {
  return /^[aeiou]/i.test(words) ? `An ${words}` : `A ${words}`;
}

/** The term in English words: the card's reason line (the UI words `why` itself, in the reader's language). */
export function whyText(term: WhyLabel, titleOf: (item: number) => string): string {
  switch (term.kind) {
    case 'liked':
      return `Because you liked “${titleOf(term.item)}”`;
    case 'similar':
      return `Similar to “${titleOf(term.item)}”`;
    case 'genre':
      // likedCount 0: a genre the reader chose in "What do you like to read?", not one of their likes'.
      return term.likedCount > 0
        ? `${withArticle(genreWords(term.genre))} book, like ${term.likedCount === 1 ? 'one' : term.likedCount} you liked`
        : `${withArticle(genreWords(term.genre))} book, a genre you chose`;
    case 'query':
      return `Matches “${term.query}”`;
    case 'popular':
      return 'Popular with readers';
    case 'new':
      return 'New to you';
    case 'taste':
      return 'Close to your taste';
  }
}

/** Genres too broad to say anything about a book ("fiction" covers most of the catalog). */
const BROAD_GENRES: ReadonlySet<string> = new Set(['fiction', 'books', 'novels', 'literature']);

/**
 * The item's first telling genre (its list order; broad ones like "fiction" skipped) that liked
 * books share, and how many of them share it; undefined when none does.
 */
export function sharedGenre(
  itemGenres: readonly string[] | undefined,
  likedGenres: readonly (readonly string[] | undefined)[],
): { genre: string; likedCount: number } | undefined {
  if (!itemGenres) return undefined;
  for (const genre of itemGenres) {
    if (BROAD_GENRES.has(genre)) continue;
    const likedCount = likedGenres.filter((genres) => genres?.includes(genre)).length;
    if (likedCount > 0) return { genre, likedCount };
  }
  return undefined;
}

/**
 * Groups the liked items' parts of the taste score into what a card can say: the named liked items
 * (those passing `named`, at most 3, the strongest) keep their own term; the others go to the item's shared genre
 * (the liked books with that genre) or, failing that, to "taste" with the rest of the taste score.
 * That rest is a genre the reader chose ("A fantasy book, a genre you chose") when the item has one:
 * the chosen genres' books seed u and the profile (weak likes), which is what the rest then holds.
 */
export function tasteParts(
  liked: readonly { item: number; magnitude: number }[],
  rest: number,
  options: {
    named: (entry: { item: number; magnitude: number }) => boolean;
    itemGenres?: readonly string[] | undefined;
    genresOf?: (item: number) => readonly string[] | undefined;
    chosenGenres?: ReadonlySet<string> | undefined;
    /** The genre affinity's part of the score (rankFeed's blend): the shared genre's, else the taste's. */
    genreAffinity?: number;
  },
): WhyPart[] {
  const parts: WhyPart[] = [];
  const byStrength = [...liked].filter((entry) => entry.magnitude > 0).sort((a, b) => b.magnitude - a.magnitude);
  const named = byStrength.filter(options.named).slice(0, 3);
  for (const entry of named) parts.push({ label: { kind: 'liked', item: entry.item }, magnitude: entry.magnitude });
  const others = byStrength.filter((entry) => !named.includes(entry));
  const genre = options.genresOf
    ? sharedGenre(
        options.itemGenres,
        liked.map((entry) => options.genresOf!(entry.item)),
      )
    : undefined;
  const affinity = Math.max(0, options.genreAffinity ?? 0);
  let genreMagnitude = genre ? affinity : 0;
  let tasteMagnitude = Math.max(0, rest) + (genre ? 0 : affinity);
  for (const entry of others) {
    if (genre && options.genresOf!(entry.item)?.includes(genre.genre)) genreMagnitude += entry.magnitude;
    else tasteMagnitude += entry.magnitude;
  }
  if (genre && genreMagnitude > 0) parts.push({ label: { kind: 'genre', genre: genre.genre, likedCount: genre.likedCount }, magnitude: genreMagnitude });
  const chosen = genreMagnitude > 0 ? undefined : options.itemGenres?.find((g) => !BROAD_GENRES.has(g) && options.chosenGenres?.has(g));
  if (tasteMagnitude > 0) parts.push({ label: chosen ? { kind: 'genre', genre: chosen, likedCount: 0 } : { kind: 'taste' }, magnitude: tasteMagnitude });
  return parts;
}

/**
 * The terms as the engine's API states them (engine/api.ts Contribution, structurally): catalog
 * indices become the item's id and title.
 */
export type ItemContribution =
  | { kind: 'liked' | 'similar'; itemId: string; title: string; share: number }
  | { kind: 'genre'; genre: string; likedCount: number; share: number }
  | { kind: 'query'; query: string; share: number }
  | { kind: 'popular' | 'new' | 'taste'; share: number };

export function toContributions(why: readonly WhyTerm[], items: readonly { id: string; title: string }[]): ItemContribution[] {
  return why.map((term): ItemContribution => {
    switch (term.kind) {
      case 'liked':
      case 'similar': {
        const item = items[term.item];
        return { kind: term.kind, itemId: item?.id ?? String(term.item), title: item?.title ?? '', share: term.share };
      }
      case 'genre':
        return { kind: 'genre', genre: term.genre, likedCount: term.likedCount, share: term.share };
      case 'query':
        return { kind: 'query', query: term.query, share: term.share };
      default:
        return { kind: term.kind, share: term.share };
    }
  });
}

const genreLists = new WeakMap<readonly object[], readonly (readonly string[] | undefined)[]>();

/** Each item's genres, catalog order, kept per catalog array (the feed asks on every rank). */
export function genresByItem(items: readonly { genres?: readonly string[] | undefined }[]): readonly (readonly string[] | undefined)[] {
  let lists = genreLists.get(items);
  if (!lists) genreLists.set(items, (lists = items.map((item) => item.genres)));
  return lists;
}
