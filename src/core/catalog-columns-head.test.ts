import { describe, expect, it } from 'vitest';
import { decodeColumns, encodeColumns } from './catalog-columns';
import { columnsHeadUrl, encodeColumnsHead, HeadError, parseColumnsHead } from './catalog-columns-head';

const items = Array.from({ length: 12 }, (_, i) => ({
  id: `p${i}`,
  title: `Title ${i}`,
  text: `Title ${i}`,
  ...(i % 3 ? { popularity: (i * 37) % 11 } : {}),
  ...(i % 2 ? { year: 1990 + i, genres: ['poetry'] } : {}),
}));

describe("a columns catalog's head", () => {
  it('names its columns and lists the most popular items first (none last, ties in catalog order)', async () => {
    const file = await encodeColumns({ name: 'shop', rowShardItems: 4 }, items);
    const columns = await decodeColumns(file);
    const head = parseColumnsHead(encodeColumnsHead(columns, file.length, 12));
    expect(head).toMatchObject({
      name: 'shop',
      itemCount: 12,
      catalogFingerprint: columns.fingerprint,
      payloadSha256: columns.header.payloadSha256,
      columnsBytes: file.length,
    });
    const order = [...items].sort((a, b) => (b.popularity ?? -1) - (a.popularity ?? -1)).map((item) => item.id);
    expect(head.popular.map((item) => item.id)).toEqual(order);
    expect(head.popular.find((item) => item.id === 'p1')).toEqual({ id: 'p1', title: 'Title 1', year: 1991, genres: ['poetry'] });
    expect(parseColumnsHead(encodeColumnsHead(columns, file.length, 3)).popular).toHaveLength(3);
    expect(columnsHeadUrl('/catalog/shop.columns')).toBe('/catalog/shop.head.json');
    expect(columnsHeadUrl('/catalog/shop.columns?v=2')).toBe('/catalog/shop.head.json?v=2');
  });

  it('refuses what does not check, naming why', async () => {
    const file = await encodeColumns({ name: 'shop', rowShardItems: 4 }, items);
    const good = JSON.parse(new TextDecoder().decode(encodeColumnsHead(await decodeColumns(file), file.length))) as Record<string, unknown>;
    const bad = (edit: (head: Record<string, unknown>) => void) => {
      const head = structuredClone(good);
      edit(head);
      return new TextEncoder().encode(JSON.stringify(head));
    };
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('{'), /not JSON/],
      [Uint8Array.of(0xff, 0xfe), /not JSON/],
      [bad((h) => (h.version = 2)), /version 2 is newer/],
      [bad((h) => (h.format = 'other')), /format/],
      [bad((h) => (h.payloadSha256 = 'xyz')), /payloadSha256/],
      [bad((h) => (h.popular = [{ id: ' p1', title: 't' }])), /spaces around it/],
      [
        bad(
          (h) =>
            (h.popular = [
              { id: 'p1', title: 't' },
              { id: 'p1', title: 'u' },
            ]),
        ),
        /an id appears twice/,
      ],
      [bad((h) => (h.popular = [{ id: 'p1', title: 't', year: 1e9 }])), /year/],
    ];
    for (const [bytes, words] of cases) {
      const error = (() => {
        try {
          parseColumnsHead(bytes, 'shop.head.json');
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(HeadError);
      expect((error as Error).message).toMatch(/^shop\.head\.json: /);
      expect((error as Error).message).toMatch(words);
    }
  });
});
