import { readFileSync } from 'node:fs';
import { MEMORY_NOTICES } from '../../storage/fallback';
import { describe, expect, it } from 'vitest';
import { en } from './en';
import { genreLabel, i18n } from './index';
import { pickLanguage } from './language';
import { zhCN } from './zh-CN';

/** Every leaf of a resource tree as "a.b.c" → text. */
function leaves(tree: object, prefix = ''): Map<string, string> {
  const found = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === 'string') found.set(prefix + key, value);
    else for (const [k, v] of leaves(value as object, `${prefix}${key}.`)) found.set(k, v);
  }
  return found;
}
const placeholders = (text: string) => new Set([...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]));

/** The 39 genres of goodbooks-10k's book_genres.csv (Goodreads genres). */
const CATALOG_GENRES = [
  'fiction',
  'fantasy',
  'romance',
  'contemporary',
  'young-adult',
  'mystery',
  'classics',
  'historical-fiction',
  'thriller',
  'nonfiction',
  'crime',
  'science-fiction',
  'suspense',
  'paranormal',
  'chick-lit',
  'history',
  'biography',
  'horror',
  'memoir',
  'books',
  'philosophy',
  'psychology',
  'religion',
  'graphic-novels',
  'comics',
  'science',
  'self-help',
  'spirituality',
  'christian',
  'business',
  'poetry',
  'art',
  'travel',
  'manga',
  'music',
  'sports',
  'cookbooks',
  'humor-and-comedy',
  'gay-and-lesbian',
];

describe('pickLanguage', () => {
  it('follows the browser: any Chinese gets Simplified Chinese, anything else English', () => {
    expect(pickLanguage(null, ['zh-CN', 'en'])).toBe('zh-CN');
    expect(pickLanguage(null, ['zh'])).toBe('zh-CN');
    expect(pickLanguage(null, ['zh-TW'])).toBe('zh-CN');
    expect(pickLanguage(null, ['ZH-hans-CN'])).toBe('zh-CN');
    expect(pickLanguage(null, ['en-GB', 'zh-CN'])).toBe('en');
    expect(pickLanguage(null, ['fr-FR'])).toBe('en');
    expect(pickLanguage(null, ['zu'])).toBe('en'); // Zulu starts with z, is not Chinese
    expect(pickLanguage(undefined, [])).toBe('en');
  });

  it('lets the choice made in Settings override the browser, and ignores a stored value it does not know', () => {
    expect(pickLanguage('en', ['zh-CN'])).toBe('en');
    expect(pickLanguage('zh-CN', ['en-US'])).toBe('zh-CN');
    expect(pickLanguage('klingon', ['zh-CN'])).toBe('zh-CN');
    expect(pickLanguage('', ['en-US'])).toBe('en');
  });
});

describe('the Chinese resources', () => {
  const english = leaves(en);
  const chinese = leaves(zhCN);

  it('translate every English string, with the same placeholders (a plural may spell out its one)', () => {
    expect([...chinese.keys()].sort()).toEqual([...english.keys()].sort());
    for (const [key, text] of english) {
      const expected = placeholders(text);
      const got = placeholders(chinese.get(key)!);
      if (key.endsWith('_one')) expected.delete('count');
      expected.delete('article'); // English grammar only
      got.delete(key.endsWith('_one') ? 'count' : '');
      expect([...got].sort(), key).toEqual([...expected].sort());
    }
  });

  it('are Chinese: no English sentence left untranslated', () => {
    // Brand names and pure placeholders may stay as they are.
    const untranslated = [...chinese].filter(([key, text]) => text === english.get(key) && /[a-z]{3}/.test(text.replace(/\{\{\w+\}\}/g, '')));
    expect(untranslated.map(([key]) => key)).toEqual(['app.name']);
  });
});

describe('genre names', () => {
  it('are translated for every genre of the shipped catalog', () => {
    for (const genre of CATALOG_GENRES) {
      expect(genreLabel(genre, 'zh-CN'), genre).toMatch(/\p{Script=Han}/u);
      expect(Object.hasOwn(en.genre, genre), genre).toBe(true);
    }
    // Genres the shipped catalog carries (when it carries them) are all in the list above.
    const catalog = JSON.parse(readFileSync('public/catalog/goodbooks-10k.json', 'utf8')) as { items: { genres?: unknown }[] };
    const shipped = new Set(catalog.items.flatMap((item) => (Array.isArray(item.genres) ? item.genres : [])));
    expect([...shipped].filter((genre) => !CATALOG_GENRES.includes(String(genre)))).toEqual([]);
  });

  it('show a genre this UI does not know (a host catalog) as the catalog names it, never an inherited property', () => {
    expect(genreLabel('solarpunk', 'zh-CN')).toBe('solarpunk');
    expect(genreLabel('constructor', 'en')).toBe('constructor');
    expect(genreLabel('__proto__', 'zh-CN')).toBe('__proto__');
  });
});

describe('plurals', () => {
  it('pick the English form by count and the one Chinese form', async () => {
    await i18n.changeLanguage('en');
    expect(i18n.t('privacy.imported', { count: 1, already: '0' })).toBe('Imported 1 new event (0 already here).');
    expect(i18n.t('privacy.imported', { count: 3, already: '2' })).toBe('Imported 3 new events (2 already here).');
    expect(i18n.t('privacy.imported', { count: 3, already: '2', lng: 'zh-CN' })).toBe('导入了 3 条新记录（2 条已存在）。');
  });
});

describe('the memory-only storage line', () => {
  it('says in English exactly what the engine and the widget say (storage/fallback.ts), and has a Chinese line for every reason', () => {
    expect(en.storageNotice).toEqual(MEMORY_NOTICES);
    for (const reason of Object.keys(MEMORY_NOTICES)) expect(zhCN.storageNotice[reason as keyof typeof MEMORY_NOTICES]).toMatch(/[\u4e00-\u9fff]/);
  });
});
