/**
 * The words a kept feed is painted with on the next visit before the interface loads (kept-shell.ts):
 * this page's own, in its language, for the header, the status line and each card's genre tags.
 */
import type { FeedItem } from '../engine/api';
import type { KeptFeedView } from '../storage/last-feed';
import { MAX_GENRE_TAGS } from './first-recommendation';
import { currentLanguage, genreLabel, i18n } from './i18n';

export function keptFeedView(feed: readonly FeedItem[]): KeptFeedView {
  const language = currentLanguage();
  const t = i18n.getFixedT(language);
  return {
    language,
    strings: {
      appName: t('app.name'),
      tagline: t('app.tagline'),
      sections: t('app.sections'),
      recommendations: t('nav.recommendations'),
      history: t('nav.history'),
      model: t('nav.model'),
      settings: t('nav.settings'),
      privacy: t('nav.privacy'),
      starting: t('activity.starting'),
      heading: t('feed.heading'),
      genres: t('feed.genres'),
      like: t('feed.like'),
      dislike: t('feed.dislike'),
    },
    items: feed.map((item) => ({ tags: (item.genres ?? []).slice(0, MAX_GENRE_TAGS).map((genre) => genreLabel(genre, language)) })),
  };
}
