import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forgetLastFeed, keepLastFeed, LAST_FEED_STORAGE_KEY, lastFeedBytes, lastFeedCount, readLastFeed } from './last-feed';

/** Node has no localStorage: a Map behind the Storage interface's four calls the module uses. */
class MapStorage {
  readonly values = new Map<string, string>();
  getItem(key: string): string | null {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.values.set(key, String(value));
  }
  removeItem(key: string): void {
    this.values.delete(key);
  }
}

const CATALOG = '/catalog/goodbooks-10k.json';
const feed = [
  {
    id: '1',
    title: 'The Hunger Games',
    byline: 'Suzanne Collins',
    year: 2008,
    reason: 'Popular with readers',
    genres: ['young-adult'],
    why: [{ kind: 'popular', text: 'x', share: 1 }],
  },
  { id: '2', title: '<img src=x onerror=alert(1)>', reason: 'Because you liked "Dune"' },
];

describe('the last feed kept for a returning visit', () => {
  let store: MapStorage;
  beforeEach(() => {
    store = new MapStorage();
    Object.defineProperty(globalThis, 'localStorage', { value: store, configurable: true });
  });
  afterEach(() => {
    Reflect.deleteProperty(globalThis, 'localStorage');
  });

  it('gives back what was kept for the same catalog, without the "Why?" details', () => {
    keepLastFeed(CATALOG, feed as never);
    expect(readLastFeed(CATALOG)).toEqual([
      { id: '1', title: 'The Hunger Games', byline: 'Suzanne Collins', year: 2008, reason: 'Popular with readers', genres: ['young-adult'] },
      { id: '2', title: '<img src=x onerror=alert(1)>', reason: 'Because you liked "Dune"' },
    ]);
    expect(lastFeedCount()).toBe(2);
    expect(lastFeedBytes()).toBeGreaterThan(100);
  });

  it("does not show another catalog's feed", () => {
    keepLastFeed(CATALOG, feed as never);
    expect(readLastFeed('/catalog/other.json')).toBeUndefined();
  });

  it('ignores and removes a damaged or edited value', () => {
    for (const bad of [
      '{',
      'null',
      '[]',
      JSON.stringify({ version: 1, catalogUrl: CATALOG, savedAt: 1, feed: [{ id: 1, title: 'x', reason: 'y' }] }),
      JSON.stringify({ version: 2, catalogUrl: CATALOG, savedAt: 1, feed: [{ id: '1', title: 'x', reason: 'y' }] }),
      JSON.stringify({ version: 1, catalogUrl: CATALOG, savedAt: 1, feed: [] }),
      JSON.stringify({ version: 1, catalogUrl: CATALOG, savedAt: 1, feed: [{ id: '1', title: 'x'.repeat(5000), reason: 'y' }] }),
    ]) {
      store.setItem(LAST_FEED_STORAGE_KEY, bad);
      expect(readLastFeed(CATALOG)).toBeUndefined();
      expect(store.getItem(LAST_FEED_STORAGE_KEY)).toBeNull();
    }
  });

  it('is forgotten by erase, and works without any localStorage at all', () => {
    keepLastFeed(CATALOG, feed as never);
    forgetLastFeed();
    expect(readLastFeed(CATALOG)).toBeUndefined();
    expect(lastFeedCount()).toBe(0);
    Reflect.deleteProperty(globalThis, 'localStorage');
    expect(() => keepLastFeed(CATALOG, feed as never)).not.toThrow();
    expect(readLastFeed(CATALOG)).toBeUndefined();
  });

  it('survives a full store (the write is dropped, nothing throws)', () => {
    store.setItem = () => {
      throw new DOMException('full', 'QuotaExceededError');
    };
    expect(() => keepLastFeed(CATALOG, feed as never)).not.toThrow();
    expect(readLastFeed(CATALOG)).toBeUndefined();
  });
});
