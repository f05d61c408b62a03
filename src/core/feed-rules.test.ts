import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthorCap, authorsNamedIn, collapsedGate, collapseSeries, SeriesPicker, takeWithCap } from './feed-rules';
import { HybridModel } from './model/hybrid';
import { rankFeed } from './model/ranking';
import { applyEvent, EMPTY_PROFILE } from './profile';
import { popularityScores, recommend } from './rank';
import { buildSeriesIndex, SeriesRole, type SeriesIndex } from './series';

interface Row {
  id: string;
  title: string;
  text: string;
  byline?: string;
  genres?: string[];
  tags?: string[];
  popularity?: number;
}

/** The volumes of series `g` the rule may offer, written out plainly from the rule's statement. */
function unreadVolumes(index: SeriesIndex, liked: ReadonlySet<number>, g: number): number[] {
  const likedMembers = index.members[g]!.filter((m) => liked.has(m));
  const boxThrough = Math.max(-Infinity, ...likedMembers.filter((m) => index.role[m] === SeriesRole.collection).map((m) => index.through[m]!));
  const likedNumbers = likedMembers.filter((m) => index.role[m] !== SeriesRole.collection).map((m) => index.volume[m]!);
  const first = boxThrough > -Infinity ? -Infinity : Math.min(Infinity, ...likedNumbers);
  const highest = Math.max(boxThrough, ...likedNumbers);
  const read = likedNumbers.length > 0 || boxThrough > -Infinity;
  return index.members[g]!.filter((m) => {
    const volume = index.volume[m]!;
    if (index.role[m] !== SeriesRole.volume || liked.has(m) || likedNumbers.includes(volume) || volume <= boxThrough) return false;
    return !read || volume > (Number.isInteger(volume) ? first : highest);
  });
}

describe('collapseSeries and the author cap (properties)', () => {
  /** A random catalog: series of 1–5 volumes (some with a box set), standalone books, few authors. */
  const catalogArbitrary = fc
    .record({
      series: fc.array(fc.record({ volumes: fc.integer({ min: 1, max: 5 }), boxSet: fc.boolean(), author: fc.integer({ min: 0, max: 3 }) }), {
        minLength: 1,
        maxLength: 5,
      }),
      standalone: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 30 }),
    })
    .map(({ series, standalone }) => {
      const rows: { title: string; byline: string; popularity: number }[] = [];
      series.forEach((s, n) => {
        for (let v = 1; v <= s.volumes; v++)
          rows.push({ title: `Volume ${v} of saga ${n} (Saga ${n}, #${v})`, byline: `Author ${s.author}`, popularity: 100 - v });
        if (s.boxSet) rows.push({ title: `Saga ${n} Box Set (Saga ${n}, #1-${s.volumes})`, byline: `Author ${s.author}`, popularity: 50 });
      });
      standalone.forEach((author, n) => rows.push({ title: `Standalone ${n}`, byline: `Author ${author}`, popularity: n }));
      return rows;
    });

  it('keeps at most one book per series, an eligible one, and never an excluded or liked one', () => {
    fc.assert(
      fc.property(catalogArbitrary, fc.func(fc.double({ min: 0, max: 1, noNaN: true })), fc.array(fc.nat(), { maxLength: 4 }), (rows, scoreOf, likedPicks) => {
        const index = buildSeriesIndex(rows);
        const liked = new Set(likedPicks.map((pick) => pick % rows.length));
        const picker = new SeriesPicker(index, { liked, disliked: new Set(), excluded: (i) => liked.has(i) });
        const ranked = rows.map((_, i) => i).sort((a, b) => scoreOf(a) - scoreOf(b));
        const out = collapseSeries(ranked, picker);
        expect(new Set(out).size).toBe(out.length);
        const groups = out.map((i) => index.group[i]!).filter((g) => g >= 0);
        expect(new Set(groups).size).toBe(groups.length);
        for (const item of out) {
          expect(liked.has(item)).toBe(false);
          const g = index.group[item]!;
          if (g < 0) continue;
          // The next unread volume: not liked, past any liked box set, above the first volume liked, and the lowest such.
          expect(index.role[item]).toBe(SeriesRole.volume);
          expect(unreadVolumes(index, liked, g)).toContain(item);
          const lower = unreadVolumes(index, liked, g).filter((m) => index.volume[m]! < index.volume[item]!);
          expect(lower).toEqual([]);
        }
        // Every series with an unread volume is represented (rules drop books, never whole series needlessly).
        for (let g = 0; g < index.members.length; g++) expect(groups.includes(g)).toBe(unreadVolumes(index, liked, g).length > 0);
      }),
      { numRuns: 300 },
    );
  });

  it('gives no author more than 2 of 20 places while other authors can fill them', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 80 }), (authors) => {
        const author = Int32Array.from(authors);
        const feed = takeWithCap(
          authors.map((_, i) => i),
          20,
          new AuthorCap(author),
        );
        const distinct = new Set(authors).size;
        const counts = new Map<number, number>();
        for (const item of feed.slice(0, 20)) counts.set(author[item]!, (counts.get(author[item]!) ?? 0) + 1);
        expect(feed.length).toBe(Math.min(20, authors.length));
        // The cap binds whenever the candidates hold enough other authors to fill the places.
        const fillable = [...new Set(authors)].reduce((sum, a) => sum + Math.min(2, authors.filter((x) => x === a).length), 0) >= feed.length;
        if (fillable) for (const count of counts.values()) expect(count).toBeLessThanOrEqual(2);
        expect(distinct).toBeGreaterThan(0);
      }),
    );
  });

  it('lifts the cap for an author the query names', () => {
    const index = buildSeriesIndex([
      { title: 'It', byline: 'Stephen King' },
      { title: 'Carrie', byline: 'Stephen King' },
      { title: 'Misery', byline: 'Stephen King' },
      { title: 'The Hobbit', byline: 'J.R.R. Tolkien' },
      { title: 'Beloved', byline: 'Toni Morrison' },
      { title: 'The Beekeeper', byline: 'Laurie R. King' },
    ]);
    const king = index.authorNames.indexOf('stephen king');
    expect(authorsNamedIn('books by Stephen King', index)).toEqual(new Set([king]));
    expect(authorsNamedIn('anything by tolkien', index)).toEqual(new Set([index.authorNames.indexOf('jrr tolkien')]));
    // "King" alone could be either King: no cap is lifted.
    expect(authorsNamedIn('a king and his castle', index)).toEqual(new Set());
    expect(takeWithCap([0, 1, 2, 3, 4], 4, new AuthorCap(index.author))).toEqual([0, 1, 3, 4]);
    expect(takeWithCap([0, 1, 2, 3, 4], 4, new AuthorCap(index.author, authorsNamedIn('stephen king novels', index)))).toEqual([0, 1, 2, 3]);
  });
});

describe('collapsedGate', () => {
  it('widens a query gate that one series filled, so it still holds as many books', () => {
    // The 12 most relevant books are volumes of one manga; then 20 standalone books.
    const rows = [
      ...Array.from({ length: 12 }, (_, v) => ({ title: `Manga, Vol. ${v + 1} (Manga, #${v + 1})`, byline: 'Mangaka' })),
      ...Array.from({ length: 20 }, (_, n) => ({ title: `Book ${n}`, byline: `Writer ${n}` })),
    ];
    const index = buildSeriesIndex(rows);
    const picker = new SeriesPicker(index, { liked: new Set([0]), disliked: new Set(), excluded: (i) => i === 0 });
    const gate = (k: number) =>
      rows
        .map((_, i) => i)
        .filter((i) => i !== 0)
        .slice(0, 2 * k);
    const collapsed = collapsedGate(gate, 5, picker);
    expect(collapsed).toHaveLength(10);
    // The series once (its best-ranked unread volume), then the standalone books in order.
    expect(collapsed).toEqual([1, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    // A catalog with nothing more to give: what there is.
    expect(collapsedGate((k) => gate(k).slice(0, 12), 5, picker)).toEqual([1, 12]);
  });
});

describe('the feed rules on the shipped catalog', () => {
  const rows: Row[] = JSON.parse(readFileSync(new URL('../../public/catalog/goodbooks-10k.json', import.meta.url), 'utf8')).items;
  const index: SeriesIndex = buildSeriesIndex(rows);
  const at = (title: string) => rows.findIndex((row) => row.title === title);
  // A stand-in for text embeddings: hashed words of the title, the author, the genres and tags. Series
  // volumes (shared series name, author, genres) come out close: the rules, not the scores, must part them.
  const dim = 64;
  const embeddings = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => {
    const words = [...`${row.title} ${row.byline ?? ''}`.toLowerCase().split(/[^a-z0-9]+/), ...(row.genres ?? []), ...(row.tags ?? [])].filter(
      (w) => w.length > 2,
    );
    for (const word of words) {
      let h = 2166136261;
      for (let c = 0; c < word.length; c++) h = Math.imul(h ^ word.charCodeAt(c), 16777619);
      embeddings[i * dim + ((h >>> 0) % dim)]! += 1;
    }
    embeddings[i * dim + dim - 1]! += 1;
    let norm = 0;
    for (let f = 0; f < dim; f++) norm += embeddings[i * dim + f]! ** 2;
    for (let f = 0; f < dim; f++) embeddings[i * dim + f]! /= Math.sqrt(norm);
  });
  const popularity = popularityScores(rows.map((row) => ({ ...row })));
  const twilight = at('Twilight (Twilight, #1)');
  const twilightGroup = index.group[twilight]!;
  const meyer = index.author[twilight]!;

  function checkTwilightFeed(feed: readonly number[]): void {
    expect(feed).toHaveLength(20);
    const saga = feed.filter((i) => index.group[i] === twilightGroup);
    expect(saga.map((i) => rows[i]!.title)).toEqual(['New Moon (Twilight, #2)']);
    expect(feed.filter((i) => index.author[i] === meyer).length).toBeLessThanOrEqual(2);
    for (const item of feed) expect(index.role[item] === SeriesRole.collection || index.role[item] === SeriesRole.companion).toBe(false);
    const authors = new Map<number, number>();
    for (const item of feed) authors.set(index.author[item]!, (authors.get(index.author[item]!) ?? 0) + 1);
    expect(Math.max(...authors.values())).toBeLessThanOrEqual(2);
    const groups = feed.map((i) => index.group[i]!).filter((g) => g >= 0);
    expect(new Set(groups).size).toBe(groups.length);
  }

  it('the model feed after liking Twilight: New Moon is its one Twilight book, no box set, Meyer at most twice', () => {
    const model = new HybridModel({ itemIds: rows.map((row) => row.id), embeddings, embeddingDim: dim, factors: 16 });
    const user = model.project(embeddings.subarray(twilight * dim, (twilight + 1) * dim));
    for (const diversity of [0, 0.3]) {
      const feed = rankFeed({
        model,
        user,
        k: 20,
        exclude: new Set([twilight]),
        popularity,
        anchors: [{ index: twilight, kind: 'like' }],
        titles: rows.map((row) => row.title),
        diversity,
        series: index,
      });
      checkTwilightFeed(feed.map((item) => item.index));
      const newMoon = feed.find((item) => rows[item.index]!.title === 'New Moon (Twilight, #2)')!;
      expect(newMoon.reason).toBe('Because you liked “Twilight (Twilight, #1)”');
    }
    // Without the rules the same scores fill the feed with the saga (what the issue saw).
    const unruled = rankFeed({ model, user, k: 20, exclude: new Set([twilight]), popularity, anchors: [{ index: twilight, kind: 'like' }] });
    expect(unruled.filter((item) => index.group[item.index] === twilightGroup).length).toBeGreaterThan(1);
  });

  it('the profile feed after liking Twilight keeps the same rules', () => {
    const vectors = rows.map((_, i) => embeddings.subarray(i * dim, (i + 1) * dim));
    const profile = applyEvent(EMPTY_PROFILE, 'like', vectors[twilight]!);
    for (const diversity of [0, 0.3]) {
      const feed = recommend(
        {
          items: rows,
          embeddings: vectors,
          popularity,
          profile,
          exclude: new Set([twilight]),
          anchors: [{ index: twilight, kind: 'like' }],
          diversity,
          series: index,
        },
        20,
      );
      checkTwilightFeed(feed.map((rec) => rec.index));
    }
  });

  it('a reader who liked all four Twilight books gets none of the saga: no box set, guide or movie companion', () => {
    const read = ['Twilight (Twilight, #1)', 'New Moon (Twilight, #2)', 'Eclipse (Twilight, #3)', 'Breaking Dawn (Twilight, #4)'].map(at);
    const vectors = rows.map((_, i) => embeddings.subarray(i * dim, (i + 1) * dim));
    let profile = EMPTY_PROFILE;
    for (const i of read) profile = applyEvent(profile, 'like', vectors[i]!);
    const feed = recommend(
      {
        items: rows,
        embeddings: vectors,
        popularity,
        profile,
        exclude: new Set(read),
        anchors: read.map((index) => ({ index, kind: 'like' as const })).reverse(),
        series: index,
      },
      20,
    );
    expect(feed.filter((rec) => index.group[rec.index] === twilightGroup)).toEqual([]);
  });

  it('a liked Harry Potter box set counts as read through its last volume', () => {
    const boxSet = at('Harry Potter Boxed Set, Books 1-5 (Harry Potter, #1-5)');
    const picker = new SeriesPicker(index, { liked: new Set([boxSet]), disliked: new Set(), excluded: (i) => i === boxSet });
    expect(rows[picker.representative(index.group[boxSet]!)!]!.title).toBe('Harry Potter and the Half-Blood Prince (Harry Potter, #6)');
    const fresh = new SeriesPicker(index, { liked: new Set(), disliked: new Set(), excluded: () => false });
    expect(rows[fresh.representative(index.group[boxSet]!)!]!.title).toBe("Harry Potter and the Sorcerer's Stone (Harry Potter, #1)");
    // Discworld after the first two: the third.
    const discworld = [at('The Color of Magic (Discworld, #1; Rincewind #1)'), at('The Light Fantastic (Discworld, #2; Rincewind #2)')];
    const reader = new SeriesPicker(index, { liked: new Set(discworld), disliked: new Set(), excluded: (i) => discworld.includes(i) });
    expect(rows[reader.representative(index.group[discworld[0]!]!)!]!.title).toBe('Equal Rites (Discworld, #3; Witches #1)');
    // A skipped volume comes back: after the Famous Five #1, #3 and #4, #2 (a reader of #3 alone gets #4).
    const five = [
      at('Five on a Treasure Island (Famous Five, #1)'),
      at('Five Run Away Together (Famous Five, #3)'),
      at("Five Go to Smuggler's Top (Famous Five, #4)"),
    ];
    const skipped = new SeriesPicker(index, { liked: new Set(five), disliked: new Set(), excluded: (i) => five.includes(i) });
    expect(rows[skipped.representative(index.group[five[0]!]!)!]!.title).toBe('Five Go Adventuring Again (Famous Five, #2)');
    const third = new SeriesPicker(index, { liked: new Set([five[1]!]), disliked: new Set(), excluded: (i) => i === five[1] });
    expect(rows[third.representative(index.group[five[0]!]!)!]!.title).toBe("Five Go to Smuggler's Top (Famous Five, #4)");
    // A box set and a later volume liked: the first volume after the box set.
    const box = new SeriesPicker(index, {
      liked: new Set([boxSet, at('Harry Potter and the Deathly Hallows (Harry Potter, #7)')]),
      disliked: new Set(),
      excluded: () => false,
    });
    expect(rows[box.representative(index.group[boxSet]!)!]!.title).toBe('Harry Potter and the Half-Blood Prince (Harry Potter, #6)');
    // A series the reader only dismissed is left out.
    const dismissed = new SeriesPicker(index, { liked: new Set(), disliked: new Set([twilight]), excluded: (i) => i === twilight });
    expect(dismissed.representative(twilightGroup)).toBeUndefined();
  });
});
