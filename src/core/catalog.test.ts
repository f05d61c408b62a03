import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  canonicalItem,
  CATALOG_FORMAT,
  CatalogError,
  catalogItemSchema,
  describeSkipped,
  MAX_CATALOG_CHARS,
  MAX_CATALOG_ITEMS,
  MAX_DESCRIPTION_LENGTH,
  MAX_LABEL_LENGTH,
  MAX_LABELS,
  parseCatalog,
  parseCatalogText,
} from './catalog';

const header = { format: CATALOG_FORMAT, version: 1, name: 'test' };
const good = { id: 'a', title: 'A Title', text: 'A Title by Someone', popularity: 10, year: 1999, language: 'en' };

describe('parseCatalog', () => {
  it('keeps valid rows and normalises numeric ids to strings', () => {
    const catalog = parseCatalog({ ...header, items: [good, { ...good, id: 7 }] });
    expect(catalog.items.map((item) => item.id)).toEqual(['a', '7']);
    expect(catalog.skipped).toEqual([]);
  });

  it('skips malformed rows, counts them, and says why', () => {
    const catalog = parseCatalog({
      ...header,
      items: [
        good,
        { ...good, id: 'b', title: '' }, // empty title
        { id: 'c', text: 'no title' }, // missing title
        { ...good, id: 'd', popularity: -3 }, // negative popularity
        { ...good, id: 'e', year: 'nineteen' }, // wrong type
        'not an object',
        null,
        { ...good }, // duplicate id
        { ...good, id: 'f', tags: ['fantasy', 'magic'] },
      ],
    });
    expect(catalog.items.map((item) => item.id)).toEqual(['a', 'f']);
    expect(catalog.skipped.map((s) => s.row)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(catalog.skipped[1]!.reason).toContain('title');
    // The reasons people read are zod's English messages, field by field (zod/mini carries none by itself).
    expect(catalog.skipped[0]!.reason).toBe('title: Too small: expected string to have >=1 characters');
    expect(catalog.skipped[2]!.reason).toBe('popularity: Too small: expected number to be >=0');
    expect(catalog.skipped[3]!.reason).toBe('year: Invalid input: expected number, received string');
    expect(catalog.skipped[6]!.reason).toContain('duplicate id "a"');
    expect(describeSkipped(catalog.skipped)).toMatch(/^7 catalog rows were skipped/);
  });

  it('drops unknown fields instead of passing them on', () => {
    const catalog = parseCatalog({ ...header, items: [{ ...good, image_url: 'https://elsewhere.example/x.jpg' }] });
    expect(catalog.items[0]).not.toHaveProperty('image_url');
  });

  it('rejects a file that is not a catalog, with a message', () => {
    expect(() => parseCatalog({ items: [good] })).toThrow(CatalogError);
    expect(() => parseCatalog([good])).toThrow(/not a catalog file/);
    expect(() => parseCatalogText('{"format": ')).toThrow(/not valid JSON/);
  });

  it('rejects a newer format version and a catalog with no valid row', () => {
    expect(() => parseCatalog({ ...header, version: 99, items: [good] })).toThrow(/version 99/);
    expect(() => parseCatalog({ ...header, items: [] })).toThrow(/no items/);
    expect(() => parseCatalog({ ...header, items: [{ id: 'x' }, 3] })).toThrow(/None of the catalog's 2 rows/);
  });

  it('refuses a catalog over its bounds before working through it: too many rows, too much text', () => {
    const rows = new Array(MAX_CATALOG_ITEMS + 1).fill(good);
    expect(() => parseCatalog({ ...header, items: rows })).toThrow(/items: a catalog holds at most 200,000 items/);
    // Not parsed at all: a text over the bound is refused by its length.
    const huge = { length: MAX_CATALOG_CHARS + 1 } as string;
    expect(() => parseCatalogText(huge)).toThrow(/this app reads catalogs of up to 128 MB/);
  });

  it('refuses NaN, infinite and out-of-range numbers, and ignores prototype keys', () => {
    const skippedFor = (fields: Record<string, unknown>) =>
      parseCatalog({ ...header, items: [good, { ...good, id: 'b', ...fields }] }).skipped.map((row) => row.reason);
    expect(skippedFor({ popularity: Number.NaN })).toHaveLength(1);
    expect(skippedFor({ popularity: Number.POSITIVE_INFINITY })).toHaveLength(1);
    expect(skippedFor({ popularity: -1 })).toHaveLength(1);
    expect(skippedFor({ year: 1e20 })).toHaveLength(1);
    expect(skippedFor({ id: 1e300 })).toHaveLength(1);
    const polluted = parseCatalogText(
      `{"format":"${CATALOG_FORMAT}","version":1,"name":"x","__proto__":{"polluted":1},"items":[{"id":"a","title":"T","text":"T","__proto__":{"admin":true},"constructor":{"prototype":{"polluted":2}}}]}`,
    );
    expect(polluted.items).toHaveLength(1);
    expect(polluted.items[0]).toEqual({ id: 'a', title: 'T', text: 'T' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe('genres, tags and description (from hosts: a bad value costs the value, never the row)', () => {
  const parseOne = (fields: Record<string, unknown>) => {
    const catalog = parseCatalog({ ...header, items: [{ ...good, ...fields }] });
    expect(catalog.skipped).toEqual([]);
    return catalog.items[0]!;
  };

  it('keeps well-formed values as they are', () => {
    const item = parseOne({ genres: ['fantasy', 'young-adult'], tags: ['magic', 'boarding school'], description: 'A boy learns he is a wizard.' });
    expect(item.genres).toEqual(['fantasy', 'young-adult']);
    expect(item.tags).toEqual(['magic', 'boarding school']);
    expect(item.description).toBe('A boy learns he is a wizard.');
  });

  it('drops entries that are not strings, blank or repeated, and trims the rest', () => {
    const item = parseOne({ genres: ['fantasy', 3, null, { a: 1 }, ['x'], '  ', ' horror ', 'fantasy', true] });
    expect(item.genres).toEqual(['fantasy', 'horror']);
  });

  it('leaves out a field with nothing usable, whatever its type', () => {
    for (const value of [[], [1, 2], '', 'fantasy', 42, null, { 0: 'fantasy' }]) {
      const item = parseOne({ genres: value, tags: value, description: Array.isArray(value) ? value : 7 });
      expect(item.genres).toBeUndefined();
      expect(item.tags).toBeUndefined();
      expect(item.description).toBeUndefined();
    }
    expect(parseOne({ description: ' \n\t ' }).description).toBeUndefined();
  });

  it('cuts long values and caps long lists', () => {
    const item = parseOne({
      genres: Array.from({ length: 1000 }, (_, i) => `genre ${i}`),
      tags: ['t'.repeat(1_000_000), `${'u'.repeat(MAX_LABEL_LENGTH - 1)} and more`],
      description: `  ${'d'.repeat(1_000_000)}`,
    });
    expect(item.genres).toHaveLength(MAX_LABELS);
    expect(item.genres![MAX_LABELS - 1]).toBe(`genre ${MAX_LABELS - 1}`);
    expect(item.tags).toEqual(['t'.repeat(MAX_LABEL_LENGTH), 'u'.repeat(MAX_LABEL_LENGTH - 1)]);
    expect(item.description).toBe('d'.repeat(MAX_DESCRIPTION_LENGTH));
  });

  it('keeps markup as the characters it is (it is rendered only as text)', () => {
    const hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
    const item = parseOne({ genres: [hostile.slice(0, 30)], description: hostile });
    expect(item.genres).toEqual([hostile.slice(0, 30)]);
    expect(item.description).toBe(hostile);
  });

  it('keeps every good row of a catalog whose descriptive fields are all bad', () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ ...good, id: `r${i}`, genres: i % 2 ? 5 : [i], tags: { i }, description: i % 3 ? null : ['no'] }));
    const catalog = parseCatalog({ ...header, items });
    expect(catalog.items).toHaveLength(20);
    expect(catalog.skipped).toEqual([]);
  });
});

describe('canonicalItem (the fast path before the schema)', () => {
  // A valid row (strings whose ends are letters are trimmed already), then often one field replaced by
  // a value at a rule's edge: padded, empty or over-long strings, wrong types, non-integers, numbers out
  // of range or unsafe, too many tags, a key the schema does not know.
  const clean = (max: number) => fc.string({ maxLength: max - 2 }).map((s) => `a${s}b`);
  const validRow = fc.record(
    {
      id: fc.oneof(clean(12), fc.nat()),
      title: clean(30),
      text: clean(30),
      byline: fc.oneof(clean(20), fc.constant('')),
      genres: fc.uniqueArray(clean(10), { minLength: 1, maxLength: 3 }),
      tags: fc.uniqueArray(clean(10), { minLength: 1, maxLength: 3 }),
      description: clean(40),
      language: fc.constantFrom('en', 'zh-Hans', 'fr'),
      year: fc.integer({ min: -5000, max: 3000 }),
      popularity: fc.double({ min: 0, max: 1e6, noNaN: true }),
    },
    { requiredKeys: ['id', 'title', 'text'] },
  );
  const edge = fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.string({ maxLength: 6 }).map((s) => ` ${s}`),
    fc.string({ maxLength: 6 }).map((s) => `${s}\n`),
    fc.constantFrom('', 'x'.repeat(200), 'x'.repeat(201), 'y'.repeat(35), 'y'.repeat(36), 'z'.repeat(500), 'z'.repeat(501), 'w'.repeat(100), 'w'.repeat(101)),
    fc.integer({ min: -6000, max: 6000 }),
    fc.double({ min: -10, max: 10 }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, -1, Number.MAX_SAFE_INTEGER + 2, 3000, 3001, -5000, -5001, null, true, undefined),
    fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(' t', '', 't', 'w'.repeat(101), 3)), { maxLength: 3 }),
    fc.constant(Array.from({ length: MAX_LABELS + 1 }, (_, i) => `t${i}`)),
    fc.constant(Array.from({ length: MAX_LABELS }, (_, i) => `t${i}`)),
  );
  const field = fc.constantFrom('id', 'title', 'text', 'byline', 'genres', 'tags', 'description', 'language', 'year', 'popularity', 'extra');
  const row = fc
    .tuple(validRow, fc.option(fc.tuple(field, edge), { freq: 3 }))
    .map(([valid, change]) => (change ? { ...valid, [change[0]]: change[1] } : valid));

  it('accepts only rows the schema accepts, and gives the schema output for them', () => {
    let accepted = 0;
    fc.assert(
      fc.property(row, (raw) => {
        const fast = canonicalItem(raw);
        const parsed = catalogItemSchema.safeParse(raw);
        if (fast === undefined) return;
        accepted++;
        expect(parsed.success).toBe(true);
        expect(fast).toEqual(parsed.success ? parsed.data : undefined);
      }),
      { numRuns: 3000 },
    );
    // Most generated rows reach the comparison (the valid ones and many edge ones).
    expect(accepted).toBeGreaterThan(1000);
  });

  it('agrees with the schema on each side of every bound', () => {
    const base = { id: 'b', title: 'T', text: 'x' };
    const rows = [
      { ...base, id: 'i'.repeat(200) },
      { ...base, id: 'i'.repeat(201) },
      { ...base, id: 0 },
      { ...base, id: -1 },
      { ...base, id: 1.5 },
      { ...base, title: 't'.repeat(500) },
      { ...base, title: 't'.repeat(501) },
      { ...base, text: 'x'.repeat(20_000) },
      { ...base, text: 'x'.repeat(20_001) },
      { ...base, byline: 'b'.repeat(500) },
      { ...base, byline: 'b'.repeat(501) },
      { ...base, byline: '' },
      { ...base, language: 'l'.repeat(35) },
      { ...base, language: 'l'.repeat(36) },
      { ...base, language: 'l' },
      { ...base, tags: Array.from({ length: MAX_LABELS }, (_, i) => `t${i}`) },
      { ...base, tags: Array.from({ length: MAX_LABELS + 1 }, (_, i) => `t${i}`) },
      { ...base, tags: ['g'.repeat(100)] },
      { ...base, tags: ['g'.repeat(101)] },
      { ...base, tags: [''] },
      { ...base, tags: ['t', 't'] },
      { ...base, tags: [] },
      { ...base, genres: ['fantasy', 'horror'] },
      { ...base, genres: ['fantasy', 3] },
      { ...base, genres: 'fantasy' },
      { ...base, description: 'd'.repeat(MAX_DESCRIPTION_LENGTH) },
      { ...base, description: 'd'.repeat(MAX_DESCRIPTION_LENGTH + 1) },
      { ...base, description: '' },
      { ...base, year: 3000 },
      { ...base, year: 3001 },
      { ...base, year: -5000 },
      { ...base, year: -5001 },
      { ...base, year: 1999.5 },
      { ...base, popularity: 0 },
      { ...base, popularity: -0.5 },
      { ...base, popularity: Number.POSITIVE_INFINITY },
      { ...base, byline: undefined },
      { ...base, title: ' T' },
      { ...base, note: 'unknown key' },
    ];
    for (const raw of rows) {
      const parsed = catalogItemSchema.safeParse(raw);
      const fast = canonicalItem(raw);
      if (!parsed.success) expect(fast, JSON.stringify(raw).slice(0, 80)).toBeUndefined();
      else if (fast !== undefined) expect(fast).toEqual(parsed.data);
    }
    // The fast path covers the valid rows at the bounds (not only the easy middle).
    expect(rows.filter((raw) => canonicalItem(raw) !== undefined)).toHaveLength(15);
  });

  it('takes every row of the bundled catalog, with the schema output', () => {
    const catalog = JSON.parse(readFileSync('public/catalog/goodbooks-10k.json', 'utf8')) as { items: unknown[] };
    for (const raw of catalog.items) expect(canonicalItem(raw)).toEqual(catalogItemSchema.parse(raw));
  });
});
