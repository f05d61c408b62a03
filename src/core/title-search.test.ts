import { describe, expect, it } from 'vitest';
import { seededUniform } from './random';
import { COMMON_SHARE, TitleIndex, titleWords } from './title-search';

const titles = [
  'The Hobbit',
  'The Lord of the Rings',
  'Dragons of Autumn Twilight',
  'The Dragon Reborn',
  'Harry Potter and the Goblet of Fire',
  '一部轻松的喜剧',
  'Twilight',
];

describe('title search', () => {
  it('gives way by time as well as by count: the same index, paused in the titles and in the postings', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `${titles[i % titles.length]} ${i % 97}`);
    let pauses = 0;
    // A slice of 0 ms is over at every clock check (every 1,024 titles, and every 1,024 items of the postings).
    const byTime = await TitleIndex.build(
      many.length,
      (i) => many[i]!,
      async () => void pauses++,
      { ms: 0 },
    );
    expect(pauses).toBe(8);
    const byCount = await TitleIndex.build(
      many.length,
      (i) => many[i]!,
      async () => {},
      { titles: 7 },
    );
    for (const query of ['hobbit 5', 'twilight', 'the goblet of fire 96', '一部轻松的喜剧'])
      expect(byTime.search(query, 50)).toEqual(byCount.search(query, 50));
    expect(byTime.bytes).toBe(byCount.bytes);
  });

  it('finds titles by their words, rarer words first, and says how much of the query matched', async () => {
    let pauses = 0;
    const index = await TitleIndex.build(
      titles.length,
      (i) => titles[i]!,
      async () => void pauses++,
      { titles: 2 },
    );
    expect(pauses).toBe(3);
    expect(index.search('hobbit', 5).items).toEqual([0]);
    // "twilight" is in two titles, "dragons" in one: the title with both leads.
    const both = index.search('Dragons twilight', 5);
    expect(both.items).toEqual([2, 6]);
    expect(both.coverage).toBe(1);
    // "the" is common: titles with it rank after a title that has the rarer word.
    expect(index.search('the goblet', 3).items[0]).toBe(4);
    // Popularity breaks ties among equal matches.
    const popularity = Float32Array.from([0, 0, 0.1, 0, 0, 0, 0.9]);
    expect(index.search('twilight', 2, popularity).items).toEqual([6, 2]);
    expect(index.search('twilight', 2).items).toEqual([2, 6]);
    const partial = index.search('hobbit zebra', 5);
    expect(partial.items).toEqual([0]);
    expect(partial.coverage).toBe(0.5);
    expect(index.search('', 5)).toEqual({ items: [], scores: [], coverage: 0 });
    // Non-ASCII titles go through Intl.Segmenter's words.
    expect(index.search('喜剧', 5).items).toEqual([5]);
  });

  it('splits ASCII titles into lower-case words and other scripts as the lexical tokenizer does', () => {
    expect(titleWords("Harry Potter & the Philosopher's Stone (Book 1)")).toEqual(['harry', 'potter', 'the', 'philosopher', 's', 'stone', 'book', '1']);
    expect(titleWords('Café Müller')).toEqual(['café', 'müller']);
  });

  it('the best `limit` matches equal a full sort of every title by the same score', async () => {
    const uniform = seededUniform(3);
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`);
    const list = Array.from({ length: 2000 }, () =>
      Array.from({ length: 1 + Math.floor(uniform() * 5) }, () => words[Math.floor(uniform() * uniform() * 30)]).join(' '),
    );
    const popularity = Float32Array.from(list, () => Math.round(uniform() * 4));
    const index = await TitleIndex.build(list.length, (i) => list[i]!);
    let mixed = 0;
    for (const query of ['w0', 'w1 w2', 'w0 w5 w29', 'w3 nothing', 'w0 w28', 'w1 w27 w29']) {
      const terms = [...new Set(titleWords(query))];
      const df = (term: string) => list.filter((title) => titleWords(title).includes(term)).length;
      const idf = new Map(terms.map((term) => [term, Math.log(1 + (list.length - df(term) + 0.5) / (df(term) + 0.5))]));
      const score = (i: number) => Math.fround([...new Set(titleWords(list[i]!))].reduce((sum, word) => sum + (idf.get(word) ?? 0), 0));
      // A word in more than COMMON_SHARE of the titles makes no match alone when the query has a rarer one.
      const rare = terms.filter((term) => df(term) > 0 && df(term) <= COMMON_SHARE * list.length);
      const matches = (i: number) => (rare.length > 0 ? rare.some((term) => titleWords(list[i]!).includes(term)) : score(i) > 0);
      const expected = list
        .map((_, i) => i)
        .filter(matches)
        .sort((a, b) => score(b) - score(a) || popularity[b]! - popularity[a]! || a - b)
        .slice(0, 50);
      if (rare.length > 0 && rare.length < terms.length) mixed++;
      const got = index.search(query, 50, popularity);
      expect(got.items.map(score)).toEqual(expected.map(score));
      expect(got.items).toEqual(expected);
    }
    // Queries with a common and a rarer word were among them (the rule was exercised).
    expect(mixed).toBeGreaterThanOrEqual(2);
  });
});
