import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { buildCoLiked, coLikedUrl, encodeCoLiked } from '../core/model/co-liked';
import { catalogFingerprint } from '../core/model/identity';
import { serveFiles, SIX_BOOKS, startTestEngine } from './testing/harness';

const items = SIX_BOOKS;
const ids = items.map((item) => item.id);
const URL_OF_FILE = coLikedUrl('/catalog.json');

/** The publisher's readers who liked 'Dragon magic' also liked 'War history' (nothing alike in the text). */
async function coLikedFile(itemIds: readonly string[] = ids): Promise<Uint8Array> {
  const d1 = ids.indexOf('d1');
  const h1 = ids.indexOf('h1');
  const built = buildCoLiked([[d1, h1], [d1, h1], [d1, h1], [ids.indexOf('s1'), ids.indexOf('s2')]], ids.length, 3);
  return encodeCoLiked({ catalogFingerprint: catalogFingerprint(itemIds), readers: 4, description: 'readers also liked: 4 test readers' }, { ...built, itemCount: ids.length, neighbours: 3 });
}

const ready = (s: { training?: unknown; feed: unknown[] }) => s.training !== undefined && s.feed.length > 0;

describe('the catalog’s co-liked neighbours in the engine', () => {
  it('are fetched beside the catalog and tie a liked book to its co-liked neighbour: the neighbour is in the feed, the liked book named in its “Why?”', async () => {
    const without = await startTestEngine(items, { feedSize: 3, overrides: { fetchBytes: serveFiles({}).fetchBytes } });
    await without.until(ready);
    await without.engine.record('like', 'd1');
    const plainWar = without.latest().feed.find((item) => item.id === 'h1');
    // Without the file, nothing ties 'War history' to 'Dragon magic'.
    expect(plainWar?.why ?? []).not.toContainEqual(expect.objectContaining({ kind: 'liked', itemId: 'd1' }));

    const served = serveFiles({ [URL_OF_FILE]: await coLikedFile() });
    const harness = await startTestEngine(items, { feedSize: 3, overrides: { fetchBytes: served.fetchBytes } });
    await harness.until(ready);
    expect(served.requested).toContain(URL_OF_FILE);
    await harness.engine.record('like', 'd1');
    const feed = harness.latest().feed;
    const war = feed.find((item) => item.id === 'h1')!;
    expect(war.why).toContainEqual(expect.objectContaining({ kind: 'liked', itemId: 'd1' }));
    expect(harness.latest().warnings).toEqual([]);
  });

  it('a file for another catalog is ignored with a warning; the feed works', async () => {
    const served = serveFiles({ [URL_OF_FILE]: await coLikedFile([...ids].reverse()) });
    const harness = await startTestEngine(items, { feedSize: 3, overrides: { fetchBytes: served.fetchBytes } });
    const opened = await harness.until((s) => ready(s) && s.warnings.length > 0);
    expect(opened.warnings.join(' ')).toMatch(/readers also liked.*ignored.*another catalog/);
    await harness.engine.record('like', 'd1');
    expect(harness.latest().feed).toHaveLength(3);
  });
});
