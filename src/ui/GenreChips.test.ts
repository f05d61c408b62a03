import { describe, expect, it } from 'vitest';
import { chipsToShow, MAX_GENRE_CHIPS } from './GenreChips';

const genres = [{ name: 'fiction', books: 8029 }, ...Array.from({ length: 20 }, (_, i) => ({ name: `genre-${i}`, books: 3000 - i * 100 }))];
const names = (list: { name: string }[]) => list.map((genre) => genre.name);

describe('chipsToShow', () => {
  it('offers the most common genres that say something about a taste, in the engine’s order', () => {
    const shown = names(chipsToShow(genres, new Set(), 10_000));
    expect(shown).toHaveLength(MAX_GENRE_CHIPS);
    expect(shown[0]).toBe('genre-0');
    expect(shown).not.toContain('fiction'); // on 80 % of the catalog
    expect(shown).not.toContain('genre-16');
  });

  it('keeps a chosen genre that would be left out, so that it can be un-chosen', () => {
    const shown = names(chipsToShow(genres, new Set(['fiction', 'genre-19']), 10_000));
    expect(shown).toHaveLength(MAX_GENRE_CHIPS + 2);
    expect(shown[0]).toBe('fiction');
    expect(shown.at(-1)).toBe('genre-19');
  });

  it('offers nothing for a catalog without genres', () => {
    expect(chipsToShow([], new Set(), 40)).toEqual([]);
  });
});
