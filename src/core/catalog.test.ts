import { describe, expect, it } from 'vitest';
import { CATALOG_FORMAT, CatalogError, describeSkipped, parseCatalog, parseCatalogText } from './catalog';

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
