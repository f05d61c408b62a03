import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { buildCoLiked, coLikedUrl, encodeCoLiked } from '../core/model/co-liked';
import { catalogFingerprint } from '../core/model/identity';
import { serveFiles, SIX_BOOKS, startTestEngine } from './testing/harness';
import { englishWarnings } from './testing/warnings';

// 'History war' reads exactly as 'War history' to the word-count encoder and is as popular: the model
// cannot tell the two apart, so only the co-liked file can put one above the other.
const items = [...SIX_BOOKS, { id: 'h2', title: 'History war', popularity: 70 }];
const ids = items.map((item) => item.id);
const URL_OF_FILE = coLikedUrl('/catalog.json');

/** The publisher's readers who liked 'Dragon magic' also liked 'History war' (and not 'War history'). */
async function coLikedFile(itemIds: readonly string[] = ids): Promise<Uint8Array> {
  const d1 = ids.indexOf('d1');
  const h2 = ids.indexOf('h2');
  const built = buildCoLiked(
    [
      [d1, h2],
      [d1, h2],
      [d1, h2],
      [ids.indexOf('s1'), ids.indexOf('s2')],
    ],
    ids.length,
    3,
  );
  return encodeCoLiked(
    { catalogFingerprint: catalogFingerprint(itemIds), readers: 4, description: 'readers also liked: 4 test readers' },
    { ...built, itemCount: ids.length, neighbours: 3 },
  );
}

const ready = (s: { training?: unknown; feed: unknown[] }) => s.training !== undefined && s.feed.length > 0;
const place = (feed: readonly { id: string }[], id: string) => feed.findIndex((item) => item.id === id);

describe('the catalog’s co-liked neighbours in the engine', () => {
  it('are fetched beside the catalog: after a like, its co-liked neighbour ranks above its twin the model cannot tell apart', async () => {
    const served = serveFiles({ [URL_OF_FILE]: await coLikedFile() });
    const harness = await startTestEngine(items, { feedSize: 6, overrides: { fetchBytes: served.fetchBytes } });
    await harness.until(ready);
    expect(served.requested).toContain(URL_OF_FILE);
    await harness.engine.record('like', 'd1');
    // The file may arrive after the like: the engine ranks again when it does.
    const after = await harness.until((s) => place(s.feed, 'h2') >= 0 && (place(s.feed, 'h1') < 0 || place(s.feed, 'h2') < place(s.feed, 'h1')));
    expect(place(after.feed, 'h2')).toBeGreaterThanOrEqual(0);
    expect(after.warnings).toEqual([]);
  });

  it('a file for another catalog is ignored with a warning; the feed works', async () => {
    const served = serveFiles({ [URL_OF_FILE]: await coLikedFile([...ids].reverse()) });
    const harness = await startTestEngine(items, { feedSize: 3, overrides: { fetchBytes: served.fetchBytes } });
    const opened = await harness.until((s) => ready(s) && s.warnings.length > 0);
    expect(englishWarnings(opened).join(' ')).toMatch(/readers also liked.*ignored.*another catalog/);
    await harness.engine.record('like', 'd1');
    expect(harness.latest().feed).toHaveLength(3);
  });
});
