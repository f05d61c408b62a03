/**
 * Series, box sets and companions, read from titles and bylines alone, so any catalog gets them:
 *
 * - A volume names its series at the end of its title, Goodreads style: "Catching Fire (The Hunger
 *   Games, #2)", "The Color of Magic (Discworld, #1; Rincewind #1)", "Night Play (Dark-Hunter #5,
 *   Were-Hunter #1)", "A Storm of Swords: Blood and Gold (A Song of Ice and Fire, #3: Part 2 of 2)",
 *   or without brackets "Saga #1". A number range or list ("#1-3", "#1-4 + 3.5", "#0.5, 2.5") is a
 *   collection of volumes (a box set, an omnibus, a story collection).
 * - Books that name a series without a number are companions or collections when their title says so
 *   (Box Set, Collection, Trilogy, Omnibus, Complete, Companion, Guide, Notebook, "The World of …", …)
 *   and either share an author with the series ("The World of Ice & Fire" by George R.R. Martin et al.)
 *   or open with the series' name ("Twilight: The Complete Illustrated Movie Companion" by Mark Cotta Vaz).
 *
 * Editions of one standalone book (same title, a trailing bracket aside, same first author) form a
 * group too, so a liked book's other editions do not come back.
 *
 * Volumes group into one series when they name the same series (or one name extends the other, "Hitch-
 * hiker's Guide" / "Hitchhiker's Guide to the Galaxy") and share an author: two unrelated "Watch" or
 * "Private" series by different people never merge. A title naming several series joins them.
 *
 * The index is built once per catalog (seriesIndexFor; ~100 ms for the 10,000 goodbooks titles in Node)
 * and is plain typed arrays, so the feed asks it per candidate at no cost. Reading a title is
 * series-title.ts; finding the series a companion or collection belongs to, series-host.ts.
 */
import { findHost, indexNames, type SeriesName } from './series-host';
import { authorKeys, bookKind, coreKey, normalizeWords, parseSeriesTitle, seriesKey, startsWithWords, trailingGroup, type SeriesMention } from './series-title';

export { authorKey, authorKeys, parseSeriesTitle, seriesKey, type SeriesMention } from './series-title';

/** What a book is within its series. */
export const SeriesRole = {
  /** A numbered volume (the one to read next, when it comes next). */
  volume: 0,
  /** Part of a volume published on its own ("Part 1 of 2"): an edition of the volume. */
  part: 1,
  /** Several volumes in one (box set, omnibus, "#1-3"). */
  collection: 2,
  /** About the series or beside it, not a volume: guides, movie companions, illustrated guides. */
  companion: 3,
} as const;
export type SeriesRole = (typeof SeriesRole)[keyof typeof SeriesRole];

export interface SeriesIndex {
  /** Series (group) per item; −1 for a book outside any series. */
  readonly group: Int32Array;
  /** Volume number in the group's main series; NaN when the book has no single number there. */
  readonly volume: Float64Array;
  /**
   * The highest main-series number the book contains: its volume, or a collection's last (the Harry
   * Potter Boxset #1-7: 7); NaN when it has none. A reader who liked it has read up to there.
   */
  readonly through: Float64Array;
  /** SeriesRole per item (meaningful where group ≥ 0). */
  readonly role: Uint8Array;
  /** Items of each group, by volume (NaN last), then by popularity. */
  readonly members: readonly (readonly number[])[];
  /** The main series' name per group, as written in the catalog. */
  readonly groupName: readonly string[];
  /** First author per item (an index into authorNames); −1 without a byline. */
  readonly author: Int32Array;
  /** Normalised author names (see authorKey), by author index. */
  readonly authorNames: readonly string[];
}

export interface SeriesCatalogItem {
  title: string;
  byline?: string | undefined;
  popularity?: number | undefined;
}

class UnionFind {
  private readonly parent: Int32Array;
  constructor(size: number) {
    this.parent = Int32Array.from({ length: size }, (_, i) => i);
  }
  find(x: number): number {
    while (this.parent[x] !== x) {
      this.parent[x] = this.parent[this.parent[x]!]!;
      x = this.parent[x]!;
    }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

interface Series {
  key: string;
  name: string;
  authors: Set<string>;
  /** (item, mention) pairs. */
  items: { item: number; mention: SeriesMention }[];
}

/**
 * The catalog's series: group, volume and role per item, and each item's first author. Pure and
 * deterministic: the same titles give the same index.
 */
export function buildSeriesIndex(items: readonly SeriesCatalogItem[]): SeriesIndex {
  const n = items.length;
  const reads = items.map(titleReadsOf);
  const authorsOf = reads.map((read) => read.authors);
  const authorIds = new Map<string, number>();
  const author = new Int32Array(n).fill(-1);
  authorsOf.forEach((keys, i) => {
    const first = keys[0];
    if (first === undefined) return;
    let id = authorIds.get(first);
    if (id === undefined) authorIds.set(first, (id = authorIds.size));
    author[i] = id;
  });

  // 1. Series named with numbers. A series is (key, a connected set of authors): same name and a
  //    shared author, so "Watch" by Lukyanenko and a "Watch" by someone else stay apart.
  const parsed = reads.map((read) => read.parsed);
  const seriesList: Series[] = [];
  const seriesByKey = new Map<string, number[]>();
  const mentionSeries: number[][] = parsed.map(() => []);
  parsed.forEach(({ mentions }, item) => {
    for (const mention of mentions) {
      const candidates = seriesByKey.get(mention.key) ?? [];
      const authors = authorsOf[item]!;
      let id = candidates.find((c) => authors.some((a) => seriesList[c]!.authors.has(a)));
      if (id === undefined) {
        id = seriesList.length;
        seriesList.push({ key: mention.key, name: mention.name, authors: new Set(), items: [] });
        candidates.push(id);
        seriesByKey.set(mention.key, candidates);
      }
      const series = seriesList[id]!;
      for (const a of authors) series.authors.add(a);
      series.items.push({ item, mention });
      mentionSeries[item]!.push(id);
    }
  });
  const union = new UnionFind(seriesList.length);
  // A title naming several series joins them ("Discworld, #1; Rincewind #1") when the series have the
  // same lead author: a crossover of two authors' worlds (Night Huntress × Argeneau) joins nothing.
  const leads = seriesList.map((series) => leadAuthor(series.items.map(({ item }) => authorsOf[item]![0])));
  for (const ids of mentionSeries) {
    for (let k = 1; k < ids.length; k++) if (leads[ids[0]!] !== undefined && leads[ids[0]!] === leads[ids[k]!]) union.union(ids[0]!, ids[k]!);
  }
  // One name extending the other, with a shared author ("Hitchhiker's Guide" / "… to the Galaxy";
  // "Twilight" / "Twilight: The Graphic Novel"). Sorted by key so each prefix is met before its extensions.
  const byKey = seriesList.map((s, id) => ({ s, id })).sort((a, b) => (a.s.key < b.s.key ? -1 : a.s.key > b.s.key ? 1 : 0));
  for (let x = 0; x < byKey.length; x++) {
    for (let y = x + 1; y < byKey.length && byKey[y]!.s.key.startsWith(byKey[x]!.s.key); y++) {
      const a = byKey[x]!;
      const b = byKey[y]!;
      if (!startsWithWords(b.s.key, a.s.key) || a.s.key === b.s.key) continue;
      if ([...b.s.authors].some((author) => a.s.authors.has(author))) union.union(a.id, b.id);
    }
  }

  // 2. Groups: every connected set of series. The main series of a group is the one with most volumes.
  const groupOfSeries = new Int32Array(seriesList.length).fill(-1);
  const groups: { series: number[] }[] = [];
  seriesList.forEach((_, id) => {
    const root = union.find(id);
    if (groupOfSeries[root] === -1) {
      groupOfSeries[root] = groups.length;
      groups.push({ series: [] });
    }
    groupOfSeries[id] = groupOfSeries[root]!;
    groups[groupOfSeries[id]!]!.series.push(id);
  });
  const mainSeries = groups.map(({ series }) =>
    series.reduce((best, id) => (seriesList[id]!.items.length > seriesList[best]!.items.length ? id : best), series[0]!),
  );
  const group = new Int32Array(n).fill(-1);
  const volume = new Float64Array(n).fill(Number.NaN);
  const through = new Float64Array(n).fill(Number.NaN);
  const role = new Uint8Array(n);
  parsed.forEach(({ mainTitle, mentions }, item) => {
    if (mentions.length === 0) return;
    const g = groupOfSeries[mentionSeries[item]![0]!]!;
    group[item] = g;
    // Numbers count in the main series' order when the mention names it, however spelled ("The 39
    // Clues" by another author, "Black Magician" for "Black Magician Trilogy"); a sub-series' numbers do not.
    // Numbers count in the main series' order when the mention names it, however spelled ("The 39
    // Clues" by another author, "Black Magician" for "Black Magician Trilogy", "Hitchhiker's Guide" for
    // "… to the Galaxy"); a sub-series' numbers do not ("Foundation: Prequel #2", "House of Night Novellas #1").
    const mainKey = seriesList[mainSeries[g]!]!.key;
    const inMain = mentions.find((m, k) => mentionSeries[item]![k] === mainSeries[g] || coreKey(m.key) === coreKey(mainKey) || startsWithWords(mainKey, m.key));
    const mention = inMain ?? mentions[0]!;
    // A sub-series that adds a companion's words to the main name: "Twilight: The Graphic Novel, #1".
    const companionSeries = !inMain && bookKind(mention.key) === 'companion' && bookKind(mainKey) !== 'companion';
    if (mention.several) role[item] = SeriesRole.collection;
    else if (mention.part) role[item] = SeriesRole.part;
    else if (companionSeries || (isFractional(mention.numbers[0]) && bookKind(normalizeWords(mainTitle)) === 'companion')) {
      // "The Twilight Saga: The Official Illustrated Guide (Twilight, #4.5)": numbered, but a guide.
      role[item] = SeriesRole.companion;
    } else role[item] = SeriesRole.volume;
    if (inMain && !inMain.several && inMain.numbers.length > 0) volume[item] = inMain.numbers[0]!;
    if (inMain && inMain.numbers.length > 0 && role[item] !== SeriesRole.companion) through[item] = Math.max(...inMain.numbers);
  });

  // 3. Books naming a series without a number: companions and collections by title and author.
  const groupNames = groups.map((_, g) => seriesList[mainSeries[g]!]!.name);
  // Every series name (and its core words) that can be matched, longest first so "Night World" beats "Night".
  const names: SeriesName[] = [];
  seriesList.forEach((series, id) => {
    const g = groupOfSeries[id]!;
    const size = groups[g]!.series.reduce((sum, s) => sum + seriesList[s]!.items.length, 0);
    const main = mainSeries[g] === id;
    names.push({ key: series.key, g, authors: series.authors, size, main });
    const core = coreKey(series.key);
    if (core && core !== series.key && core.length >= 4) names.push({ key: core, g, authors: series.authors, size, main: false });
  });
  names.sort((a, b) => b.key.length - a.key.length);
  const nameIndex = indexNames(names);
  // A series whose own name says companion ("The Twilight Saga: The Official Illustrated Movie
  // Companion, #4") joins the series it names, all its books as companions. Decided per group, once.
  const hostOfGroup = new Map<number, number>();
  seriesList.forEach((series, id) => {
    const g = groupOfSeries[id]!;
    if (hostOfGroup.has(g) || bookKind(series.key) !== 'companion') return;
    const host = findHost(series.key, seriesKey(series.name.split(':')[0]!), [...series.authors], true, nameIndex, g);
    if (host !== undefined) hostOfGroup.set(g, host);
  });
  for (let i = 0; i < n; i++) {
    const host = hostOfGroup.get(group[i]!);
    if (host === undefined) continue;
    group[i] = host;
    role[i] = SeriesRole.companion;
    volume[i] = Number.NaN;
    through[i] = Number.NaN;
  }
  parsed.forEach(({ mentions }, item) => {
    if (mentions.length > 0) return;
    const title = items[item]!.title;
    const kind = kindOf(reads[item]!);
    if (!kind) return;
    // "The World of the Hunger Games": the series' name opens the title once "the world of" is set aside.
    const worldOf = /^world of (the )?/u;
    const world = worldOf.test(seriesKey(title));
    const key = seriesKey(title).replace(worldOf, '');
    const head = world ? key : seriesKey(title.split(':')[0]!);
    const host = findHost(
      key,
      head,
      authorsOf[item]!,
      kind === 'companion',
      nameIndex,
      -1,
      world ? seriesKey(title.split(':')[0]!).replace(worldOf, '') : undefined,
    );
    if (host === undefined) return;
    group[item] = host;
    role[item] = kind === 'companion' ? SeriesRole.companion : SeriesRole.collection;
  });

  // 4. Editions of one book outside any series ("'Salem's Lot" twice, "The Firm" and "The Firm (Penguin
  //    Readers, Level 5)", "Coraline (Illustrated/Graphic Novel Edition)"): the same title, a trailing
  //    bracket aside, by the same first author. Each is one group, its editions all "volume 1": the
  //    most popular stands for it, and none comes back once one was liked.
  const editions = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    if (group[i]! >= 0 || author[i]! < 0) continue;
    const key = `${editionKeyOf(reads[i]!)}\u0000${author[i]}`;
    const list = editions.get(key);
    if (list) list.push(i);
    else editions.set(key, [i]);
  }
  for (const list of editions.values()) {
    if (list.length < 2) continue;
    const g = groupNames.length;
    groupNames.push(items[list[0]!]!.title);
    for (const i of list) {
      group[i] = g;
      role[i] = SeriesRole.volume;
      volume[i] = 1;
      through[i] = 1;
    }
  }

  const members: number[][] = groupNames.map(() => []);
  for (let i = 0; i < n; i++) if (group[i]! >= 0) members[group[i]!]!.push(i);
  for (const list of members) {
    list.sort((a, b) => {
      const va = volume[a]!;
      const vb = volume[b]!;
      if (Number.isNaN(va) !== Number.isNaN(vb)) return Number.isNaN(va) ? 1 : -1;
      if (va !== vb && !Number.isNaN(va)) return va - vb;
      return (items[b]!.popularity ?? 0) - (items[a]!.popularity ?? 0) || a - b;
    });
  }
  return { group, volume, through, role, members, groupName: groupNames, author, authorNames: [...authorIds.keys()] };
}

/** What buildSeriesIndex reads from one item's title and byline alone (pure functions of the two strings). */
interface TitleReads {
  readonly title: string;
  readonly byline: string | undefined;
  readonly authors: readonly string[];
  readonly parsed: ReturnType<typeof parseSeriesTitle>;
  /** bookKind of the title, read when needed (step 3 asks it of titles that name no series). */
  kind?: ReturnType<typeof bookKind>;
  /** The title without a trailing bracket, as a series key: editions of one book share it (step 4). */
  editionKey?: string;
}

/**
 * Per item object, its title's and byline's reads. At scale the feed's index is built again over each rank's
 * pool (~1,200 items, most of them the same objects as the last rank's): the reads are most of that build.
 * Checked against the item's strings, so an item whose title or byline changed is read again.
 */
const titleReads = new WeakMap<SeriesCatalogItem, TitleReads>();

function titleReadsOf(item: SeriesCatalogItem): TitleReads {
  const kept = titleReads.get(item);
  if (kept && kept.title === item.title && kept.byline === item.byline) return kept;
  const reads: TitleReads = {
    title: item.title,
    byline: item.byline,
    authors: authorKeys(item.byline),
    parsed: parseSeriesTitle(item.title),
  };
  titleReads.set(item, reads);
  return reads;
}

function kindOf(reads: TitleReads): ReturnType<typeof bookKind> {
  if (!('kind' in reads)) reads.kind = bookKind(reads.title);
  return reads.kind;
}

function editionKeyOf(reads: TitleReads): string {
  return (reads.editionKey ??= seriesKey(trailingGroup(reads.title)?.before ?? reads.title));
}

/** The most frequent first author (the first met among equals). */
function leadAuthor(firstAuthors: readonly (string | undefined)[]): string | undefined {
  const counts = new Map<string, number>();
  let best: string | undefined;
  for (const a of firstAuthors) {
    if (a === undefined) continue;
    const c = (counts.get(a) ?? 0) + 1;
    counts.set(a, c);
    if (best === undefined || c > counts.get(best)!) best = a;
  }
  return best;
}

function isFractional(value: number | undefined): boolean {
  return value !== undefined && !Number.isInteger(value);
}

const indexes = new WeakMap<readonly SeriesCatalogItem[], SeriesIndex>();

/** buildSeriesIndex, kept per catalog array: the engine asks once per rank, the work happens once. */
export function seriesIndexFor(items: readonly SeriesCatalogItem[]): SeriesIndex {
  let index = indexes.get(items);
  if (!index) indexes.set(items, (index = buildSeriesIndex(items)));
  return index;
}
