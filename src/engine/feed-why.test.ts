import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { startTestEngine, type TestItem } from './testing/harness';

/** A dragon saga in three volumes with its box set, and one more book, by one author; three books by others. */
const SAGA: (TestItem & { byline: string })[] = [
  { id: 'v1', title: 'Dragon magic (Dragon Saga, #1)', byline: 'Ann Author', popularity: 100 },
  { id: 'v2', title: 'Dragon wizard (Dragon Saga, #2)', byline: 'Ann Author', popularity: 60 },
  { id: 'v3', title: 'Dragon war (Dragon Saga, #3)', byline: 'Ann Author', popularity: 50 },
  { id: 'box', title: 'Dragon Saga Box Set (Dragon Saga, #1-3)', byline: 'Ann Author', popularity: 40 },
  { id: 'a2', title: 'Magic dragon stories', byline: 'Ann Author', popularity: 30 },
  { id: 'w1', title: 'The wizard and the dragon', byline: 'Bo Writer', popularity: 45 },
  { id: 's1', title: 'Space robot planet', byline: 'Cy Novelist', popularity: 90 },
  { id: 'r1', title: 'Love and romance', byline: 'Di Poet', popularity: 80 },
];

describe('the engine feed keeps the feed rules and says why', () => {
  it("after liking volume 1: volume 2 is the saga's one book, no box set; each card has its Why?", async () => {
    const harness = await startTestEngine(SAGA, { feedSize: 5 });
    // The on-device model ranks (rankFeed); the profile ranker's rules are tested in core/feed-rules.test.ts.
    await harness.until((s) => s.training !== undefined && s.embedding?.active === false);
    const before = harness.latest().feed;
    // Before any like the saga is its first volume, once.
    expect(before.filter((item) => ['v1', 'v2', 'v3', 'box'].includes(item.id)).map((item) => item.id)).toEqual(['v1']);
    await harness.engine.record('like', 'v1');
    const feed = harness.latest().feed;
    expect(feed.filter((item) => ['v1', 'v2', 'v3', 'box'].includes(item.id)).map((item) => item.id)).toEqual(['v2']);
    // Five places, five books left once the saga is one: its volume 2, Ann's other book and the three others.
    expect(feed.map((item) => item.id).sort()).toEqual(['a2', 'r1', 's1', 'v2', 'w1']);
    for (const item of feed) {
      expect(item.why?.length).toBeGreaterThan(0);
      const shares = item.why!.map((term) => term.share);
      expect(shares).toEqual([...shares].sort((a, b) => b - a));
    }
    const liked = feed.flatMap((item) => item.why!.filter((term) => term.kind === 'liked'));
    expect(liked.length).toBeGreaterThan(0);
    for (const term of liked) expect(term).toMatchObject({ itemId: 'v1', title: 'Dragon magic (Dragon Saga, #1)' });
    // The reason is why[0] in words.
    for (const item of feed) if (item.why![0]!.kind === 'liked') expect(item.reason).toBe('Because you liked “Dragon magic (Dragon Saga, #1)”');
  });
});
