import { describe, expect, it } from 'vitest';
import type { Contribution } from '../engine/api';
import { MEMORY_NOTICES } from '../storage/fallback';
import { en } from '../ui/i18n/en';
import { zhCN } from '../ui/i18n/zh-CN';
import {
  FRAME_TITLE,
  fillTemplate,
  loadWidgetStrings,
  pickWidgetLanguage,
  WIDGET_LANGUAGES,
  WIDGET_STRINGS_EN,
  widgetReason,
  type WidgetLanguage,
  type WidgetStrings,
} from './strings';
import { WIDGET_STRINGS_ZH } from './strings-zh';

const WIDGET_STRINGS: Record<WidgetLanguage, WidgetStrings> = { en: WIDGET_STRINGS_EN, 'zh-CN': WIDGET_STRINGS_ZH };

const han = /\p{Script=Han}/u;
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** Every string of a dictionary as "key" or "memory.key". */
function texts(strings: WidgetStrings): Map<string, string> {
  const found = new Map<string, string>();
  for (const [key, value] of Object.entries(strings)) {
    if (typeof value === 'string') found.set(key, value);
    else if (typeof value === 'object') for (const [k, v] of Object.entries(value as Record<string, string>)) found.set(`${key}.${k}`, v);
  }
  return found;
}

const CONTRIBUTIONS: Contribution[] = [
  { kind: 'liked', itemId: 'a', title: 'Dune', share: 0.5 },
  { kind: 'similar', itemId: 'b', title: 'Emma', share: 0.5 },
  { kind: 'genre', genre: 'fantasy', likedCount: 3, share: 0.5 },
  { kind: 'genre', genre: 'solarpunk', likedCount: 0, share: 0.5 },
  { kind: 'query', query: 'summer', share: 0.5 },
  { kind: 'popular', share: 0.5 },
  { kind: 'new', share: 0.5 },
  { kind: 'taste', share: 0.5 },
];

describe('the widget language', () => {
  it('follows the first tag given (the element or page, then the embed URL, then the browser); any Chinese is Simplified Chinese', () => {
    expect(pickWidgetLanguage(['zh-CN', 'en'])).toBe('zh-CN');
    expect(pickWidgetLanguage(['zh'])).toBe('zh-CN');
    expect(pickWidgetLanguage(['zh-TW'])).toBe('zh-CN');
    expect(pickWidgetLanguage(['ZH-Hans'])).toBe('zh-CN');
    expect(pickWidgetLanguage(['en', 'zh-CN'])).toBe('en'); // an English page, a Chinese browser: the page's language
    expect(pickWidgetLanguage(['fr', 'zh-CN'])).toBe('en'); // a language the widget does not speak: English
    expect(pickWidgetLanguage(['zu'])).toBe('en'); // Zulu, not Chinese
  });

  it('skips missing and empty tags (lang="" is "unknown"), and is English with none', () => {
    expect(pickWidgetLanguage([null, undefined, '', '  ', 'zh-CN'])).toBe('zh-CN');
    expect(pickWidgetLanguage([null, 'en-GB'])).toBe('en');
    expect(pickWidgetLanguage([])).toBe('en');
  });
});

describe('the widget dictionary', () => {
  it('has every sentence in every language, with the same placeholders, and Chinese in Chinese', () => {
    const english = texts(WIDGET_STRINGS.en);
    for (const language of WIDGET_LANGUAGES) {
      const other = texts(WIDGET_STRINGS[language]);
      expect([...other.keys()].sort(), language).toEqual([...english.keys()].sort());
      for (const [key, text] of other) {
        expect(placeholders(text), `${language} ${key}`).toEqual(placeholders(english.get(key)!));
        if (language === 'zh-CN') expect(text, key).toMatch(han);
      }
    }
  });

  it('keeps the English words of the contract and of the engine', () => {
    expect(WIDGET_STRINGS.en.remember).toBe('Remember my picks on this site');
    expect(WIDGET_STRINGS.en.memory).toEqual(MEMORY_NOTICES);
    expect(fillTemplate(WIDGET_STRINGS.en.unavailable, { reason: 'x' }).join('')).toBe('Recommendations are unavailable: x');
  });

  it('gives a card its reason: the engine words in English, the strongest contribution in Chinese as the app says it', () => {
    for (const contribution of CONTRIBUTIONS) {
      const item = { reason: 'Popular with readers', why: [contribution] };
      expect(widgetReason(item, WIDGET_STRINGS_EN)).toBe('Popular with readers');
      const chinese = widgetReason(item, WIDGET_STRINGS_ZH);
      expect(chinese, contribution.kind).toMatch(han);
    }
    const reason = (c: Contribution) => widgetReason({ reason: '', why: [c] }, WIDGET_STRINGS_ZH);
    expect(reason(CONTRIBUTIONS[0]!)).toBe(zhCN.why.liked.replace('{{title}}', 'Dune'));
    expect(reason(CONTRIBUTIONS[2]!)).toBe(zhCN.why.genre_other.replace('{{genre}}', '奇幻').replace('{{count}}', '3'));
    expect(reason(CONTRIBUTIONS[3]!)).toBe(zhCN.why.genreChosen.replace('{{genre}}', 'solarpunk'));
    for (const kind of ['popular', 'new', 'taste'] as const) expect(reason({ kind, share: 1 })).toBe(zhCN.why[kind]);
    // No structured reason: the engine's English words.
    expect(widgetReason({ reason: 'Popular with readers' }, WIDGET_STRINGS_ZH)).toBe('Popular with readers');
    expect(en.why.popular).toBe('Popular with readers');
  });

  it("loads each language's words (Chinese from its own chunk)", async () => {
    expect(await loadWidgetStrings('en')).toBe(WIDGET_STRINGS_EN);
    expect(await loadWidgetStrings('zh-CN')).toBe(WIDGET_STRINGS_ZH);
  });

  it('fills templates with values as given: a value is never read as a template', () => {
    expect(fillTemplate('a {x} b {y}', { x: '{y}', y: '<b>' })).toEqual(['a ', '{y}', ' b ', '<b>']);
    expect(fillTemplate('{reason}', { reason: 'r' })).toEqual(['r']);
    expect(fillTemplate('{unknown} {constructor}', {})).toEqual(['{unknown}', ' ', '{constructor}']);
  });
});

describe("the iframe embed's default title", () => {
  it("is the widget's own name for its list, in each language", () => {
    for (const language of WIDGET_LANGUAGES) expect(FRAME_TITLE[language]).toBe(WIDGET_STRINGS[language].recommendations);
  });
});
