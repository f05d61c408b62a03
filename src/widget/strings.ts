/**
 * The widget's own words, in English and Simplified Chinese. A small typed dictionary instead of
 * i18next (which the app uses): widget.js must stay a few KB on someone else's page, and these are a
 * dozen fixed sentences. The English ones are a contract (the accessible name "Remember my picks on
 * this site", the texts e2e tests read): never reword one.
 */
import type { Contribution, FeedItem, StorageState } from '../engine/api';
import { GENRE_NAMES_ZH } from '../ui/i18n/genres-zh';

export const WIDGET_LANGUAGES = ['en', 'zh-CN'] as const;
export type WidgetLanguage = (typeof WIDGET_LANGUAGES)[number];

type MemoryReason = Extract<StorageState, { persisted: false }>['reason'];

export interface WidgetStrings {
  loading: string;
  nothingYet: string;
  /** The list's accessible name. */
  recommendations: string;
  /** Templates: `{reason}` is one of the two below or the engine's English message; `{message}` the browser's (English). */
  unavailable: string;
  couldNotStart: string;
  stopped: string;
  workerError: string;
  /** What will not be kept while the browser refuses or lost storage (in English, storage/fallback.ts MEMORY_NOTICES: a test checks). */
  memory: Record<MemoryReason, string>;
  remember: string;
  notAllowed: string;
  grantedButRefused: string;
  /** A card's reason from the engine's strongest contribution (the English UI shows the engine's own words instead). */
  reason: (contribution: Contribution) => string;
}

const EN: WidgetStrings = {
  loading: 'Loading recommendations…',
  nothingYet: 'Nothing to recommend yet.',
  recommendations: 'Recommendations',
  unavailable: 'Recommendations are unavailable: {reason}',
  couldNotStart: 'the recommender could not start here ({message}).',
  stopped: 'the recommender stopped ({message}).',
  workerError: 'worker error',
  memory: {
    unavailable: 'Your picks are kept for this visit only: this browser does not let the recommender store them.',
    blocked: 'Your picks are kept for this visit only: another tab of this app holds its data open. Close that tab and reload to keep them.',
    quota: "This browser's storage for the app is full: new picks are kept for this visit only. Everything saved before is still saved.",
    lost: 'The browser closed or removed the saved data while the page was open: new picks are kept for this visit only.',
  },
  remember: 'Remember my picks on this site',
  notAllowed: 'The browser did not allow it: your picks are kept for this visit only.',
  grantedButRefused: 'Access was granted, but this browser still does not let the recommender store your picks here: they are kept for this visit only.',
  // Not used: English cards show the engine's reason (FeedItem.reason), which is the same sentence.
  reason: () => '',
};

const zhGenre = (genre: string) => (Object.hasOwn(GENRE_NAMES_ZH, genre) ? GENRE_NAMES_ZH[genre as keyof typeof GENRE_NAMES_ZH] : genre);

/** The same sentences as the app's zh-CN.ts where the app has them (the `why` keys). */
const ZH: WidgetStrings = {
  loading: '正在加载推荐…',
  nothingYet: '暂时没有可推荐的内容。',
  recommendations: '推荐',
  unavailable: '无法提供推荐：{reason}',
  couldNotStart: '推荐程序无法在这里启动（{message}）。',
  stopped: '推荐程序已停止（{message}）。',
  workerError: 'worker 出错',
  memory: {
    unavailable: '你的选择只在这次访问中保留：这个浏览器不允许推荐程序保存它们。',
    blocked: '你的选择只在这次访问中保留：本应用的另一个标签页正占用它的数据。关闭那个标签页并重新加载即可保存。',
    quota: '这个浏览器为本应用提供的存储空间已满：新的选择只在这次访问中保留。之前保存的内容仍然保存着。',
    lost: '页面打开期间浏览器关闭或删除了已保存的数据：新的选择只在这次访问中保留。',
  },
  remember: '在这个网站上记住我的选择',
  notAllowed: '浏览器没有允许：你的选择只在这次访问中保留。',
  grantedButRefused: '已获得访问权限，但这个浏览器仍不允许推荐程序在这里保存你的选择：它们只在这次访问中保留。',
  reason: (contribution) => {
    switch (contribution.kind) {
      case 'liked':
        return `因为你喜欢《${contribution.title}》`;
      case 'similar':
        return `与《${contribution.title}》相似`;
      case 'genre':
        return contribution.likedCount > 0
          ? `${zhGenre(contribution.genre)}类图书，你喜欢过 ${contribution.likedCount} 本同类书`
          : `${zhGenre(contribution.genre)}类图书，你选择的类型`;
      case 'query':
        return `符合“${contribution.query}”`;
      case 'popular':
        return '深受读者欢迎';
      case 'new':
        return '你没见过的新书';
      case 'taste':
        return '接近你的口味';
    }
  },
};

export const WIDGET_STRINGS: Readonly<Record<WidgetLanguage, WidgetStrings>> = { en: EN, 'zh-CN': ZH };

/**
 * The widget's language from language tags, most specific first: the element's own `lang` (or its
 * nearest ancestor's, the host page's `<html lang>` included), the iframe embed's `?lang=`, then the
 * browser's languages. The first tag given decides: any Chinese (zh, zh-TW, zh-Hans…) gets Simplified
 * Chinese, the only Chinese offered; anything else English. Empty tags (`lang=""`: unknown) are skipped.
 */
export function pickWidgetLanguage(tags: readonly (string | null | undefined)[]): WidgetLanguage {
  const first = tags.find((tag): tag is string => typeof tag === 'string' && tag.trim() !== '');
  return first !== undefined && /^zh(-|$)/i.test(first.trim()) ? 'zh-CN' : 'en';
}

/** A card's one line: the engine's English words, or in another language its strongest contribution in that language. */
export function widgetReason(item: Pick<FeedItem, 'reason' | 'why'>, language: WidgetLanguage): string {
  const strongest = item.why?.[0];
  return language === 'en' || !strongest ? item.reason : WIDGET_STRINGS[language].reason(strongest);
}

/**
 * A template's pieces with `{name}` replaced by `values[name]` (a string or a node: an English detail
 * marked lang="en"). Values are inserted as given, never read as templates themselves.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string | Node>>): (string | Node)[] {
  return template
    .split(/\{(\w+)\}/)
    .map((piece, i) => (i % 2 === 1 ? (Object.hasOwn(values, piece) ? values[piece]! : `{${piece}}`) : piece))
    .filter((piece) => piece !== '');
}
