import { describe, expect, it } from 'vitest';
import { TitleIndex, titleWords } from './title-search';

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
  it('finds titles by their words, rarer words first, and says how much of the query matched', async () => {
    let pauses = 0;
    const index = await TitleIndex.build(
      titles.length,
      (i) => titles[i]!,
      async () => void pauses++,
      2,
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
});
