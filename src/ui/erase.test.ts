import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineClient } from './engine-client';
import { eraseEverything } from './erase';
import { LANGUAGE_STORAGE_KEY } from './i18n/chosen-language';
import { keepLastFeed, LAST_FEED_STORAGE_KEY } from '../storage/last-feed';
import { MapStorage } from '../storage/testing/map-storage';

const CATALOG = '/catalog/goodbooks-10k.json';
const FEED = [{ id: '1', title: 'Dune', reason: 'Popular with readers' }];

describe('"Erase all my data" on the page', () => {
  let store: MapStorage;
  beforeEach(() => {
    store = new MapStorage();
    Object.defineProperty(globalThis, 'localStorage', { value: store, configurable: true });
    // No service worker registered (Node has no navigator.serviceWorker).
    Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
    store.setItem(LANGUAGE_STORAGE_KEY, 'zh-CN');
    keepLastFeed(CATALOG, FEED);
    store.setItem('another-app-on-this-origin', 'kept');
  });
  afterEach(() => {
    Reflect.deleteProperty(globalThis, 'localStorage');
    Reflect.deleteProperty(globalThis, 'navigator');
  });

  it('has forgotten the language and the kept feed before the engine erases (and reports "erased")', async () => {
    expect(store.values.has(LAST_FEED_STORAGE_KEY)).toBe(true);
    let keysWhileEngineErased: string[] | undefined;
    const engine = {
      eraseAll: () => {
        // The engine's "erased" snapshot reaches the page while this call is still pending: the page then
        // says everything is gone, so nothing of the reader's may be left in localStorage by then.
        keysWhileEngineErased = [...store.values.keys()];
        return Promise.resolve();
      },
    } as unknown as EngineClient;
    await eraseEverything(engine);
    expect(keysWhileEngineErased).toEqual(['another-app-on-this-origin']);
    expect([...store.values.keys()]).toEqual(['another-app-on-this-origin']);
  });

  it('forgets a feed kept while the engine was erasing', async () => {
    const engine = {
      eraseAll: () => {
        keepLastFeed(CATALOG, FEED); // the page's keep timer, run during the erase
        return Promise.resolve();
      },
    } as unknown as EngineClient;
    await eraseEverything(engine);
    expect(store.values.has(LAST_FEED_STORAGE_KEY)).toBe(false);
  });
});
