import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCatalog, CATALOG_FORMAT } from './catalog';
import { ENCODER_TEXT_MAX_CHARS, encoderText, readableLabel } from './item-text';

const book = { text: 'The Hobbit by J.R.R. Tolkien' };

describe('encoderText', () => {
  it('is the item text itself when there is nothing else to read (hashes of older catalogs stay)', () => {
    expect(encoderText(book)).toBe('The Hobbit by J.R.R. Tolkien');
    expect(encoderText({ ...book, genres: [], tags: [], description: '' })).toBe('The Hobbit by J.R.R. Tolkien');
  });

  it('adds genres and tags as words, in their order, then the description', () => {
    expect(encoderText({ ...book, genres: ['fantasy', 'young-adult', 'humor-and-comedy'] })).toBe(
      'The Hobbit by J.R.R. Tolkien. Genres: fantasy, young adult, humor and comedy',
    );
    expect(encoderText({ ...book, genres: ['fantasy'], tags: ['epic_fantasy', 'dragons'], description: 'A hobbit goes on  an\nadventure.' })).toBe(
      'The Hobbit by J.R.R. Tolkien. Genres: fantasy. Tags: epic fantasy, dragons. A hobbit goes on an adventure.',
    );
    expect(encoderText({ ...book, description: 'A hobbit goes there and back again.' })).toBe(
      'The Hobbit by J.R.R. Tolkien. A hobbit goes there and back again.',
    );
  });

  it('does not double the stop after a text that ends a sentence', () => {
    expect(encoderText({ text: 'Who Moved My Cheese?', genres: ['business'] })).toBe('Who Moved My Cheese? Genres: business');
    expect(encoderText({ text: 'Dr. No.', tags: ['spies'] })).toBe('Dr. No. Tags: spies');
  });

  it('reads at most 8 genres and 8 tags, and skips repeats after making them readable', () => {
    const genres = Array.from({ length: 40 }, (_, i) => `genre-${i}`);
    const text = encoderText({ ...book, genres: ['sci-fi', 'sci_fi', ...genres], tags: genres });
    expect(text).toContain('Genres: sci fi, genre 0, genre 1, genre 2, genre 3, genre 4, genre 5, genre 6. Tags: genre 0');
    expect(text).not.toContain('genre 8');
  });

  it('keeps a label one item of the list (its commas and stops do not split it)', () => {
    expect(encoderText({ ...book, genres: ['war, peace. and: love'] })).toBe('The Hobbit by J.R.R. Tolkien. Genres: war peace and love');
  });

  it('stays within the bound, cut at a word, whatever the sizes', () => {
    const huge = `${'word '.repeat(200_000)}end`;
    const text = encoderText({ text: huge, genres: [huge.slice(0, 100)], tags: [huge.slice(0, 100)], description: huge });
    expect(text.length).toBeLessThanOrEqual(ENCODER_TEXT_MAX_CHARS);
    expect(text).toMatch(/ word$/);
    // The item's own text leaves room for what describes it.
    expect(text).toContain('. Genres: word word');
    expect(text).toContain('. Tags: word');
    // A long text alone is cut too (the encoder would drop what is past its token limit anyway).
    expect(encoderText({ text: huge }).length).toBeLessThanOrEqual(ENCODER_TEXT_MAX_CHARS);
  });

  it('keeps the genres when a description is huge, and fills the rest with the description', () => {
    const text = encoderText({ ...book, genres: ['mystery'], description: 'clue '.repeat(10_000) });
    expect(text.startsWith('The Hobbit by J.R.R. Tolkien. Genres: mystery. clue clue')).toBe(true);
    expect(text.length).toBeGreaterThan(ENCODER_TEXT_MAX_CHARS - 10);
    expect(text.length).toBeLessThanOrEqual(ENCODER_TEXT_MAX_CHARS);
  });

  it('does not cut an emoji or other surrogate pair in half', () => {
    const text = encoderText({ text: '😀'.repeat(1000) });
    expect(text.length).toBeLessThanOrEqual(ENCODER_TEXT_MAX_CHARS);
    expect(text).toBe('😀'.repeat(text.length / 2));
  });

  it('passes markup through as characters (it is text to the encoder, not HTML)', () => {
    expect(encoderText({ ...book, genres: ['<b>bold</b>'], description: '<script>alert(1)</script>' })).toBe(
      'The Hobbit by J.R.R. Tolkien. Genres: <b>bold</b>. <script>alert(1)</script>',
    );
  });

  it('reads any hostile catalog row the catalog accepts without throwing, within the bound', () => {
    const anything = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.oneof(fc.string({ maxLength: 120 }), fc.integer(), fc.constant(null)), { maxLength: 80 }),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 2000 }).filter((s) => s.trim() !== ''),
        anything,
        anything,
        anything,
        (text, genres, tags, description) => {
          const catalog = parseCatalog({ format: CATALOG_FORMAT, version: 1, name: 't', items: [{ id: '1', title: 't', text, genres, tags, description }] });
          const read = encoderText(catalog.items[0]!);
          expect(read.length).toBeLessThanOrEqual(ENCODER_TEXT_MAX_CHARS);
          expect(read.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('readableLabel', () => {
  it('reads shelf spellings as words', () => {
    expect(readableLabel('science-fiction')).toBe('science fiction');
    expect(readableLabel('graphic_novels')).toBe('graphic novels');
    expect(readableLabel(' chick--lit ')).toBe('chick lit');
  });
});
