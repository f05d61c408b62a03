import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forgetLastFeed, keepLastFeed, LAST_FEED_STORAGE_KEY, lastFeedBytes, lastFeedCount, readKeptFeed, type KeptFeedView } from './last-feed';
import { MapStorage } from './testing/map-storage';

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
    expect(readKeptFeed(CATALOG)?.feed).toEqual([
      { id: '1', title: 'The Hunger Games', byline: 'Suzanne Collins', year: 2008, reason: 'Popular with readers', genres: ['young-adult'] },
      { id: '2', title: '<img src=x onerror=alert(1)>', reason: 'Because you liked "Dune"' },
    ]);
    expect(lastFeedCount()).toBe(2);
    expect(lastFeedBytes()).toBeGreaterThan(100);
  });

  it("does not show another catalog's feed", () => {
    keepLastFeed(CATALOG, feed as never);
    expect(readKeptFeed('/catalog/other.json')?.feed).toBeUndefined();
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
      expect(readKeptFeed(CATALOG)?.feed).toBeUndefined();
      expect(store.getItem(LAST_FEED_STORAGE_KEY)).toBeNull();
    }
  });

  it('is forgotten by erase, and works without any localStorage at all', () => {
    keepLastFeed(CATALOG, feed as never);
    forgetLastFeed();
    expect(readKeptFeed(CATALOG)?.feed).toBeUndefined();
    expect(lastFeedCount()).toBe(0);
    Reflect.deleteProperty(globalThis, 'localStorage');
    expect(() => keepLastFeed(CATALOG, feed as never)).not.toThrow();
    expect(readKeptFeed(CATALOG)?.feed).toBeUndefined();
  });

  const view: KeptFeedView = {
    language: 'zh-CN',
    strings: {
      appName: 'Private Recs',
      tagline: '在你的设备上计算的图书推荐。',
      sections: '栏目',
      recommendations: '推荐',
      history: '历史',
      model: '模型',
      settings: '设置',
      privacy: '隐私',
      starting: '正在启动…',
      heading: '为你推荐',
      genres: '类型',
      like: '喜欢',
      dislike: '不感兴趣',
    },
    items: [{ tags: ['青少年'] }, { tags: [] }],
  };

  it('keeps the words the feed was shown with, for a paint before the interface loads', () => {
    keepLastFeed(CATALOG, feed as never, view);
    expect(readKeptFeed(CATALOG)?.view).toEqual(view);
    expect(readKeptFeed(CATALOG)?.feed).toHaveLength(2);
    // Kept without them (an older record), the feed comes back alone.
    keepLastFeed(CATALOG, feed as never);
    expect(readKeptFeed(CATALOG)).toEqual({ feed: readKeptFeed(CATALOG)?.feed });
  });

  it('drops words that do not describe every kept item, and a damaged view with the record', () => {
    keepLastFeed(CATALOG, feed as never, { ...view, items: [{ tags: [] }] });
    expect(readKeptFeed(CATALOG)?.view).toBeUndefined();
    expect(readKeptFeed(CATALOG)?.feed).toHaveLength(2);
    const record = { version: 1, catalogUrl: CATALOG, savedAt: 1, feed: [{ id: '1', title: 'x', reason: 'y' }] };
    const one = { ...view, items: [{ tags: [] }] };
    for (const damaged of [
      { ...one, strings: { ...view.strings, like: 5 } },
      { ...one, items: [{ tags: ['x'.repeat(5000)] }] },
      { ...one, strings: undefined },
      { ...one, items: [{ tags: '<b>fantasy</b>' }] },
    ]) {
      store.setItem(LAST_FEED_STORAGE_KEY, JSON.stringify({ ...record, view: damaged }));
      expect(readKeptFeed(CATALOG)).toBeUndefined();
      expect(store.getItem(LAST_FEED_STORAGE_KEY)).toBeNull();
    }
  });

  it('survives a full store (the write is dropped, nothing throws)', () => {
    store.setItem = () => {
      throw new DOMException('full', 'QuotaExceededError');
    };
    expect(() => keepLastFeed(CATALOG, feed as never)).not.toThrow();
    expect(readKeptFeed(CATALOG)?.feed).toBeUndefined();
  });
});
