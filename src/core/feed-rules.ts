/**
 * Rules that make a feed worth scrolling, applied by both rankers after scoring (core/rank.ts for the
 * content profile, core/model/ranking.ts for the hybrid model), with MMR on top:
 *
 * 1. A series is one item: the next unread volume — the lowest volume above the first one the reader
 *    liked that the reader has not liked (a skipped volume comes back: after #1, #3 and #4, #2; a liked
 *    box set counts as read through its last volume; a novella (#1.5) only after the highest one read),
 *    whole-numbered volumes before novellas — or the first volume when none is read. Its box sets, omnibuses and companions
 *    are never recommended while it has a volume to offer; a reader who has finished it gets none of
 *    them. A series whose volumes the reader only ever dismissed ("Not interested") is left out.
 * 2. An author has at most 2 of every 20 places (AUTHOR_CAP), unless the reader asks for them: the query
 *    names the author, or (a widget on a book's page) the book on screen is theirs.
 * 3. Liked and dismissed books are never recommended back (the callers' exclusions; rule 1 adds the
 *    liked books' box sets and companions).
 */
import { authorKey, SeriesRole, type SeriesIndex } from './series';

/** At most `max` items by one author in every `window` places of the feed. */
export const AUTHOR_CAP = { max: 2, window: 20 } as const;

export interface ReaderState {
  /** Items the reader liked (read, or at least started): the series rule counts them as read. */
  liked: ReadonlySet<number>;
  /** Items the reader dismissed ("Not interested"). */
  disliked: ReadonlySet<number>;
  /** Items never to recommend (liked, dismissed, the item on screen): skipped as representatives. */
  excluded: (index: number) => boolean;
}

/** See SeriesPicker.readState. */
export interface ReadState {
  readonly first: number;
  /** The highest main-series number read (−∞ when none). */
  readonly highest: number;
  readonly numbers: ReadonlySet<number>;
  readonly collectionsThrough: number;
  /** Whether the reader liked a numbered book of the group (a volume, a part, a collection). */
  readonly any: boolean;
}

/**
 * The book that stands for each series in this reader's feed (undefined: the series is not offered),
 * memoised per group for one rank.
 */
export class SeriesPicker {
  private readonly picks = new Map<number, number | undefined>();
  private readonly read = new Map<number, ReadState>();

  constructor(
    readonly index: SeriesIndex,
    private readonly reader: ReaderState,
  ) {}

  /**
   * What the reader has read of the group: the first main-series number they liked (−∞ when none; NaN
   * for "left out": only dismissed), the numbers they liked, and how far a liked collection reaches.
   */
  readState(group: number): ReadState {
    const known = this.read.get(group);
    if (known !== undefined) return known;
    let first = Number.POSITIVE_INFINITY;
    let collectionsThrough = Number.NEGATIVE_INFINITY;
    const numbers = new Set<number>();
    let liked = false;
    let disliked = false;
    for (const member of this.index.members[group] ?? []) {
      if (this.reader.liked.has(member)) {
        liked = true;
        const through = this.index.through[member]!;
        if (!Number.isFinite(through)) continue;
        if (this.index.role[member] === SeriesRole.collection) {
          // A box set is read from the start of the series through its last volume.
          collectionsThrough = Math.max(collectionsThrough, through);
          first = Number.NEGATIVE_INFINITY;
        } else {
          numbers.add(this.index.volume[member]!);
          first = Math.min(first, this.index.volume[member]!);
        }
      } else if (this.reader.disliked.has(member)) disliked = true;
    }
    const state: ReadState = {
      highest: Math.max(collectionsThrough, ...numbers),
      first: disliked && !liked ? Number.NaN : first === Number.POSITIVE_INFINITY ? Number.NEGATIVE_INFINITY : first,
      numbers,
      collectionsThrough,
      any: numbers.size > 0 || collectionsThrough > Number.NEGATIVE_INFINITY,
    };
    this.read.set(group, state);
    return state;
  }

  /** Whether `item` may stand for its series: an unread volume after the first one read, not excluded. */
  eligible(item: number): boolean {
    const group = this.index.group[item]!;
    if (group < 0) return !this.reader.excluded(item);
    const role = this.index.role[item]!;
    const volume = this.index.volume[item]!;
    const read = this.readState(group);
    if (Number.isNaN(read.first) || this.reader.excluded(item)) return false;
    if (role === SeriesRole.volume || role === SeriesRole.part) {
      if (!Number.isFinite(volume) || read.numbers.has(volume) || volume <= read.collectionsThrough) return false;
      // Only a whole volume fills a gap; a novella (#1.5) comes after everything read, as an extra.
      return !read.any || (Number.isInteger(volume) ? volume > read.first : volume > read.highest);
    }
    // A box set or companion only where the series offers no volume at all and nothing of it was read.
    return !read.any && !this.hasVolumes(group);
  }

  /** The next unread volume of the group (see the module comment), or undefined. */
  representative(group: number): number | undefined {
    if (this.picks.has(group)) return this.picks.get(group);
    const pick = this.choose(group);
    this.picks.set(group, pick);
    return pick;
  }

  private hasVolumes(group: number): boolean {
    return (this.index.members[group] ?? []).some((m) => this.index.role[m] === SeriesRole.volume && Number.isFinite(this.index.volume[m]!));
  }

  private choose(group: number): number | undefined {
    const members = this.index.members[group] ?? [];
    if (Number.isNaN(this.readState(group).first)) return undefined;
    let best: number | undefined;
    const better = (a: number, b: number | undefined): boolean => {
      if (b === undefined) return true;
      const va = this.index.volume[a]!;
      const vb = this.index.volume[b]!;
      // Whole-numbered volumes first (New Moon #2 before Midnight Sun #1.5), then the lowest number,
      // then a whole volume before a part of it; members are already by popularity within a number.
      const wa = Number.isInteger(va) ? 0 : 1;
      const wb = Number.isInteger(vb) ? 0 : 1;
      if (wa !== wb) return wa < wb;
      if (va !== vb) return va < vb;
      return this.index.role[a] === SeriesRole.volume && this.index.role[b] !== SeriesRole.volume;
    };
    for (const member of members) {
      const role = this.index.role[member];
      if (role !== SeriesRole.volume && role !== SeriesRole.part) continue;
      if (this.eligible(member) && better(member, best)) best = member;
    }
    if (best !== undefined) return best;
    // A series the catalog only has as box sets or companions: the most popular one, while none was read.
    return members.find((member) => this.eligible(member));
  }
}

/**
 * The candidates (best first) with each series reduced to one item, at the place of its best-ranked
 * member: the series' representative, or with `preferRanked` (a query is asking for something) the
 * best-ranked member that is eligible (SeriesPicker.eligible), the representative only when none is.
 * Books outside any series pass through unless excluded. The result has no duplicates.
 */
export function collapseSeries(candidates: readonly number[], picker: SeriesPicker, preferRanked = false): number[] {
  const { group } = picker.index;
  const rankedPick = new Map<number, number>();
  if (preferRanked) {
    for (const item of candidates) {
      const g = group[item]!;
      if (g >= 0 && !rankedPick.has(g) && picker.eligible(item)) rankedPick.set(g, item);
    }
  }
  const out: number[] = [];
  const taken = new Set<number>();
  const seenGroups = new Set<number>();
  for (const item of candidates) {
    const g = group[item] ?? -1;
    let pick: number | undefined;
    if (g < 0) pick = picker.eligible(item) ? item : undefined;
    else if (!seenGroups.has(g)) {
      seenGroups.add(g);
      pick = rankedPick.get(g) ?? picker.representative(g);
    }
    if (pick !== undefined && !taken.has(pick)) {
      taken.add(pick);
      out.push(pick);
    }
  }
  return out;
}

/**
 * A query's gate (`gate(k)`: its most relevant books for a feed of k) with each series counted once,
 * as large as the plain gate: where collapsing leaves fewer books (a manga query's 40 most relevant
 * books can be 15 series), the gate is asked again for a larger k (×2, up to ×8) and collapsed again.
 * Series keep their best-ranked eligible member (collapseSeries with preferRanked).
 */
export function collapsedGate(gate: (k: number) => number[], k: number, picker: SeriesPicker): number[] {
  const plain = gate(k);
  let collapsed = collapseSeries(plain, picker, true);
  let asked = plain.length;
  for (let scale = 2; collapsed.length < plain.length && scale <= 8; scale *= 2) {
    const wider = gate(k * scale);
    if (wider.length <= asked) break; // the catalog has no more
    asked = wider.length;
    collapsed = collapseSeries(wider, picker, true);
  }
  return collapsed.slice(0, plain.length);
}

/** Counts authors as a feed fills: allows(item, place) says whether the item's author still has room. */
export class AuthorCap {
  private readonly counts = new Map<number, number>();

  constructor(
    private readonly author: Int32Array,
    private readonly uncapped: ReadonlySet<number> = new Set(),
    private readonly max: number = AUTHOR_CAP.max,
    private readonly window: number = AUTHOR_CAP.window,
  ) {}

  /** Whether `item` may take place `place` (0-based): its author has < max per window so far. */
  allows(item: number, place: number): boolean {
    const author = this.author[item] ?? -1;
    if (author < 0 || this.uncapped.has(author)) return true;
    return (this.counts.get(author) ?? 0) < this.max * (Math.floor(place / this.window) + 1);
  }

  take(item: number): void {
    const author = this.author[item] ?? -1;
    if (author >= 0) this.counts.set(author, (this.counts.get(author) ?? 0) + 1);
  }
}

/**
 * The first k of `ordered` (best first) that the cap allows, in order; when too few are allowed to
 * fill k (a tiny catalog, one author), the best of the rest fill the remaining places.
 */
export function takeWithCap(ordered: readonly number[], k: number, cap: AuthorCap): number[] {
  const chosen: number[] = [];
  const skipped: number[] = [];
  for (const item of ordered) {
    if (chosen.length >= k) break;
    if (cap.allows(item, chosen.length)) {
      cap.take(item);
      chosen.push(item);
    } else skipped.push(item);
  }
  for (const item of skipped) {
    if (chosen.length >= k) break;
    chosen.push(item);
  }
  return chosen;
}

const surnameCounts = new WeakMap<SeriesIndex, Map<string, number>>();

/**
 * Authors a query asks for: their full name is in it ("books by stephen king", "jk rowling"), or their
 * surname when no other author in the catalog has it and it has at least 4 letters ("tolkien").
 */
export function authorsNamedIn(query: string, index: SeriesIndex): Set<number> {
  const text = ` ${authorKey(query)} `;
  let surnames = surnameCounts.get(index);
  if (!surnames) {
    surnames = new Map();
    for (const name of index.authorNames) {
      const surname = name.split(' ').at(-1)!;
      surnames.set(surname, (surnames.get(surname) ?? 0) + 1);
    }
    surnameCounts.set(index, surnames);
  }
  const named = new Set<number>();
  index.authorNames.forEach((name, id) => {
    if (!name) return;
    if (text.includes(` ${name} `)) named.add(id);
    else {
      const surname = name.split(' ').at(-1)!;
      if (surname.length >= 4 && surnames!.get(surname) === 1 && text.includes(` ${surname} `)) named.add(id);
    }
  });
  return named;
}
