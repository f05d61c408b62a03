/**
 * A card's reasons in the reader's language, from the engine's structured contributions (the engine
 * writes `reason` in English only).
 */
import type { Contribution, FeedItem } from '../engine/api';
import { formatPercent } from './format';
import { currentLanguage, genreLabel, i18n, type Language } from './i18n';

/** One contribution in words: "Because you liked “Dune”", "A fantasy book, like 3 you liked". */
export function contributionText(contribution: Contribution, language: Language = currentLanguage()): string {
  const t = i18n.getFixedT(language);
  switch (contribution.kind) {
    case 'liked':
      return t('why.liked', { title: contribution.title });
    case 'similar':
      return t('why.similar', { title: contribution.title });
    case 'genre': {
      const genre = genreLabel(contribution.genre, language);
      // English only: "An art book", "A fantasy book" (the Chinese sentence has no article).
      const article = /^[aeiou]/i.test(genre) ? 'An' : 'A';
      return contribution.likedCount > 0 ? t('why.genre', { article, genre, count: contribution.likedCount }) : t('why.genreChosen', { article, genre });
    }
    case 'query':
      return t('why.query', { query: contribution.query });
    case 'popular':
      return t('why.popular');
    case 'new':
      return t('why.new');
    case 'taste':
      return t('why.taste');
  }
}

/** A line of the "Why?" list: the contribution and its share of the score, "Because you liked “Dune” — 45%". */
export function contributionLine(contribution: Contribution, language: Language = currentLanguage()): string {
  const share = Number.isFinite(contribution.share) ? Math.min(1, Math.max(0, contribution.share)) : 0;
  return i18n.getFixedT(language)('why.withShare', { text: contributionText(contribution, language), share: formatPercent(share, language) });
}

/**
 * The card's one-line reason. In English, the engine's own words (what the widget shows and what
 * tests read); in another language the strongest contribution translated, or the engine's English
 * words when the engine gave no structured reason.
 */
export function reasonText(item: Pick<FeedItem, 'reason' | 'why'>, language: Language = currentLanguage()): string {
  const strongest = item.why?.[0];
  if (language === 'en' || !strongest) return item.reason;
  return contributionText(strongest, language);
}
