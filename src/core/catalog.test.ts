import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalItem, CATALOG_FORMAT, CatalogError, catalogItemSchema, describeSkipped, parseCatalog, parseCatalogText } from './catalog';

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
      tags: fc.array(clean(10), { maxLength: 3 }),
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
    fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(' t', '', 'w'.repeat(101), 3)), { maxLength: 3 }),
    fc.constant(Array.from({ length: 101 }, () => 't')),
  );
  const field = fc.constantFrom('id', 'title', 'text', 'byline', 'tags', 'language', 'year', 'popularity', 'extra');
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
      { ...base, id: 'i'.repeat(200) }, { ...base, id: 'i'.repeat(201) }, { ...base, id: 0 }, { ...base, id: -1 }, { ...base, id: 1.5 },
      { ...base, title: 't'.repeat(500) }, { ...base, title: 't'.repeat(501) }, { ...base, text: 'x'.repeat(20_000) }, { ...base, text: 'x'.repeat(20_001) },
      { ...base, byline: 'b'.repeat(500) }, { ...base, byline: 'b'.repeat(501) }, { ...base, byline: '' },
      { ...base, language: 'l'.repeat(35) }, { ...base, language: 'l'.repeat(36) }, { ...base, language: 'l' },
      { ...base, tags: Array.from({ length: 100 }, () => 't') }, { ...base, tags: Array.from({ length: 101 }, () => 't') },
      { ...base, tags: ['g'.repeat(100)] }, { ...base, tags: ['g'.repeat(101)] }, { ...base, tags: [''] },
      { ...base, year: 3000 }, { ...base, year: 3001 }, { ...base, year: -5000 }, { ...base, year: -5001 }, { ...base, year: 1999.5 },
      { ...base, popularity: 0 }, { ...base, popularity: -0.5 }, { ...base, popularity: Number.POSITIVE_INFINITY },
      { ...base, byline: undefined }, { ...base, title: ' T' }, { ...base, note: 'unknown key' },
    ];
    for (const raw of rows) {
      const parsed = catalogItemSchema.safeParse(raw);
      const fast = canonicalItem(raw);
      if (!parsed.success) expect(fast, JSON.stringify(raw).slice(0, 80)).toBeUndefined();
      else if (fast !== undefined) expect(fast).toEqual(parsed.data);
    }
    // The fast path covers the valid rows at the bounds (not only the easy middle).
    expect(rows.filter((raw) => canonicalItem(raw) !== undefined)).toHaveLength(13);
  });

  it('takes every row of the bundled catalog, with the schema output', () => {
    const catalog = JSON.parse(readFileSync('public/catalog/goodbooks-10k.json', 'utf8')) as { items: unknown[] };
    for (const raw of catalog.items) expect(canonicalItem(raw)).toEqual(catalogItemSchema.parse(raw));
  });
});
