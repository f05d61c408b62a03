/**
 * The committed co-liked neighbours of the default catalog (public/catalog/goodbooks-10k.co-liked,
 * `npm run co-liked`) fit the catalog the app ships: the engine's own decoder accepts them for its
 * fingerprint, it is the EASE build (cli/build-co-liked.ts's default), and what it says is what readers
 * do (a series' readers go on from one volume to the next). When this fails after a change to the catalog, rebuild the file with the command in
 * cli/build-co-liked.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../src/core/catalog';
import { coLikedUrl, decodeCoLiked } from '../src/core/model/co-liked';
import { catalogFingerprint } from '../src/core/model/identity';

const CATALOG = 'public/catalog/goodbooks-10k.json';

describe('the shipped co-liked neighbours of the default catalog', () => {
  const catalog = parseCatalogText(readFileSync(CATALOG, 'utf8'));
  const bytes = readFileSync(coLikedUrl(CATALOG));
  const expected = { catalogFingerprint: catalogFingerprint(catalog.items.map((item) => item.id)), itemCount: catalog.items.length };

  it('is small enough to commit and decodes for this catalog', async () => {
    expect(bytes.byteLength).toBeLessThan(6 * 1024 * 1024);
    const table = await decodeCoLiked(new Uint8Array(bytes), expected);
    expect(table.itemCount).toBe(10_000);
    // Most books have a full row of neighbours.
    const none = table.ids.filter((id) => id === 0xffff).length;
    expect(none / table.ids.length).toBeLessThan(0.05);
    expect(table.description).toMatch(/EASE, λ = 20/);
  });

  it('links a volume of a popular series to the next among its strongest neighbours', async () => {
    const table = await decodeCoLiked(new Uint8Array(bytes), expected);
    const index = (pattern: RegExp) => catalog.items.findIndex((item) => pattern.test(item.title));
    for (const [first, second] of [
      [/^The Hunger Games \(The Hunger Games, #1\)$/, /^Catching Fire \(The Hunger Games, #2\)$/],
      [/^Catching Fire \(The Hunger Games, #2\)$/, /^Mockingjay \(The Hunger Games, #3\)$/],
      [/^Harry Potter and the Chamber of Secrets/, /^Harry Potter and the Prisoner of Azkaban/],
      [/^Divergent \(Divergent, #1\)$/, /^Insurgent \(Divergent, #2\)$/],
      [/^The Fellowship of the Ring/, /^The Two Towers/],
    ] as const) {
      const a = index(first);
      const b = index(second);
      expect(a, String(first)).toBeGreaterThanOrEqual(0);
      expect(b, String(second)).toBeGreaterThanOrEqual(0);
      const row = Array.from(table.ids.subarray(a * table.neighbours, (a + 1) * table.neighbours));
      expect(row.indexOf(b), `${catalog.items[a]!.title} → ${catalog.items[b]!.title}`).toBeGreaterThanOrEqual(0);
      expect(row.indexOf(b)).toBeLessThan(5);
    }
  });
});
