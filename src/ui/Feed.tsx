import { memo, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EventKind } from '../core/events';
import type { Contribution, FeedItem } from '../engine/api';
import { contributionLine, reasonText } from './explain';
import { FIRST_RECOMMENDATION_ELEMENT, MAX_GENRE_TAGS, markFirstRecommendation } from './first-recommendation';
import { genreLabel } from './i18n';

interface FeedProps {
  items: FeedItem[];
  onEvent(kind: EventKind, item: FeedItem): void;
  /**
   * After a like or dislike removes an item, focus moves to whatever took its place: once per request
   * (a new object each time), not whenever the feed changes later (training, a search) — that would
   * pull focus away from whatever the user went on to.
   */
  focusRequest: FocusRequest | undefined;
  /** A change of search or diversity is on its way: the list is about to change. */
  busy?: boolean;
}

/** An item counts as viewed after this long at least half on screen (an impression). */
const VIEW_DWELL_MS = 1000;

/** Memoised: snapshots arrive for progress every half second; the cards re-render only when their props change. */
export interface FocusRequest {
  index: number;
}

export const Feed = memo(function Feed({ items, onEvent, focusRequest, busy = false }: FeedProps) {
  const { t } = useTranslation();
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    // Read by the browser benchmark: time from navigation to the first recommendation on screen.
    if (items.length > 0) markFirstRecommendation();
  }, [items]);

  useEffect(() => {
    if (focusRequest === undefined) return;
    // The request arrives once the event is stored, after the feed that answers it: the list is current.
    const buttons = listRef.current?.querySelectorAll<HTMLButtonElement>('button.item-title');
    if (buttons && buttons.length > 0) buttons[Math.min(focusRequest.index, buttons.length - 1)]!.focus();
  }, [focusRequest]);

  return (
    <section className="feed" aria-labelledby="recommendations-heading">
      <h2 id="recommendations-heading">{t('feed.heading')}</h2>
      <ol ref={listRef} className="feed-list" aria-busy={busy}>
        {items.map((item, index) => (
          <FeedCard key={item.id} item={item} onEvent={onEvent} timed={index === 0} />
        ))}
      </ol>
    </section>
  );
});

/**
 * A card re-renders only when what it shows changed: after a Like the feed is a new list of new
 * objects (each snapshot is a copy), but most cards are the same books with the same reasons.
 * (A change of language re-renders every card through useTranslation, whatever its props.)
 */
const FeedCard = memo(
  function FeedCard({ item, onEvent, timed }: { item: FeedItem; onEvent: FeedProps['onEvent']; timed: boolean }) {
    const { t, i18n } = useTranslation();
    const ref = useRef<HTMLLIElement>(null);
    useViewTracking(ref, () => onEvent('view', item));
    const genres = (item.genres ?? []).slice(0, MAX_GENRE_TAGS);
    return (
      <li ref={ref} className="card" data-item-id={item.id}>
        <h3>
          <button
            type="button"
            className="item-title"
            onClick={() => onEvent('click', item)}
            {...(timed ? { elementtiming: FIRST_RECOMMENDATION_ELEMENT } : {})}
          >
            {item.title}
          </button>
        </h3>
        {(item.byline || item.year !== undefined) && (
          <p className="byline">
            {item.byline}
            {item.byline && item.year !== undefined ? ' · ' : ''}
            {item.year}
          </p>
        )}
        {/* Text, not a list: the feed's list items are the cards (tests and screen readers count them). */}
        {genres.length > 0 && (
          <p className="genre-tags">
            <span className="visually-hidden">{t('feed.genres')}: </span>
            {genres.map((genre, index) => (
              <span key={genre} className="tag" data-genre={genre}>
                {index > 0 && <span className="visually-hidden">, </span>}
                {genreLabel(genre)}
              </span>
            ))}
          </p>
        )}
        <p className="reason" lang={i18n.language !== 'en' && !item.why?.length ? 'en' : undefined}>
          {reasonText(item)}
        </p>
        {item.why && item.why.length > 0 && <WhyDisclosure why={item.why} />}
        <div className="actions">
          <button type="button" className="like" onClick={() => onEvent('like', item)}>
            {t('feed.like')}
          </button>
          <button type="button" className="dislike" onClick={() => onEvent('dislike', item)}>
            {t('feed.dislike')}
          </button>
        </div>
      </li>
    );
  },
  (before, after) =>
    before.onEvent === after.onEvent &&
    before.timed === after.timed &&
    before.item.id === after.item.id &&
    before.item.title === after.item.title &&
    before.item.byline === after.item.byline &&
    before.item.year === after.item.year &&
    before.item.reason === after.item.reason &&
    sameStrings(before.item.genres, after.item.genres) &&
    sameContributions(before.item.why, after.item.why),
);

/**
 * "Why?": a button (aria-expanded) that shows the item's top contributions with their shares. The
 * list is rendered only while open: twenty cards do not each build a list nobody opened.
 */
function WhyDisclosure({ why }: { why: readonly Contribution[] }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const listId = useId();
  return (
    <div className="why">
      <button type="button" className="why-toggle secondary" aria-expanded={open} aria-controls={listId} onClick={() => setOpen(!open)}>
        {t('feed.why')}
      </button>
      <ul id={listId} className="why-list" aria-label={t('feed.whyList')} hidden={!open}>
        {open && why.map((contribution, index) => <li key={index}>{contributionLine(contribution)}</li>)}
      </ul>
    </div>
  );
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((value, i) => value === b[i]);
}

/** Contributions compared by value: each snapshot is a structured-clone copy, so identity never holds. */
export function sameContributions(a: readonly Contribution[] | undefined, b: readonly Contribution[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((contribution, i) => {
    const other = b[i]! as Record<string, unknown>;
    const entries = Object.entries(contribution);
    return entries.length === Object.keys(other).length && entries.every(([key, value]) => other[key] === value);
  });
}

/** Calls `onView` once when the element has been at least half visible for VIEW_DWELL_MS. */
function useViewTracking(ref: React.RefObject<HTMLElement | null>, onView: () => void) {
  const onViewRef = useRef(onView);
  onViewRef.current = onView;
  useEffect(() => {
    const element = ref.current;
    if (!element || typeof IntersectionObserver === 'undefined') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const observer = new IntersectionObserver(
      ([entry]) => {
        if (entry?.isIntersecting) {
          timer ??= setTimeout(() => {
            observer.disconnect();
            onViewRef.current();
          }, VIEW_DWELL_MS);
        } else if (timer) {
          clearTimeout(timer);
          timer = undefined;
        }
      },
      { threshold: 0.5 },
    );
    observer.observe(element);
    return () => {
      observer.disconnect();
      if (timer) clearTimeout(timer);
    };
  }, [ref]);
}
