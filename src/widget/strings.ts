/**
 * The widget's own words, in English (here) and Simplified Chinese (./strings-zh.ts). A small typed
 * dictionary instead of i18next (which the app uses): widget.js must stay a few KB on someone else's
 * page, and these are a dozen fixed sentences. The English ones are a contract (the accessible name "Remember my picks on
 * this site", the texts e2e tests read): never reword one.
 */
import type { Contribution, FeedItem, StorageState } from '../engine/api';

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
  /** A card's reason from the engine's strongest contribution; none: the engine's own (English) words. */
  reason?: (contribution: Contribution) => string;
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
  // No `reason`: English cards show the engine's reason (FeedItem.reason), the same sentence.
};

/**
 * The iframe's default accessible name per language, as the widget's list is named ("recommendations"
 * in each dictionary: a test holds them equal). Here, not in the Chinese chunk: the host page's script
 * names the frame before anything of the widget loads.
 */
export const FRAME_TITLE: Readonly<Record<WidgetLanguage, string>> = { en: 'Recommendations', 'zh-CN': '推荐' };

/** The English words: in widget.js itself. */
export const WIDGET_STRINGS_EN: WidgetStrings = EN;

/**
 * The words of `language`. Chinese is a chunk of its own, fetched only where the widget speaks it: an
 * English page downloads none of it (widget.js stays small). If it cannot be fetched, English.
 */
export function loadWidgetStrings(language: WidgetLanguage): Promise<WidgetStrings> {
  if (language === 'en') return Promise.resolve(EN);
  return import('./strings-zh').then(
    (module) => module.WIDGET_STRINGS_ZH,
    () => EN,
  );
}

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
export function widgetReason(item: Pick<FeedItem, 'reason' | 'why'>, strings: WidgetStrings): string {
  const strongest = item.why?.[0];
  return strings.reason && strongest ? strings.reason(strongest) : item.reason;
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
