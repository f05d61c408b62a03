import { memo, startTransition, useEffect, useMemo, useState } from 'react';
import type { HistoryEntry } from '../engine/api';
import { useTranslation } from 'react-i18next';
import type { EngineClient } from './engine-client';
import { eventLabel, formatNumber, formatTime } from './format';
import { genreLabel } from './i18n';

/** What an entry is about: a book's title, or for a genre chosen in "What do you like to read?" the genre's name. */
const entryTitle = (entry: HistoryEntry) => (entry.kind === 'genre' ? genreLabel(entry.itemId) : entry.title);

/**
 * When an event happened. The engine skips records whose time no Date can show (storage/records.ts),
 * and imports refuse them; this panel still never throws on one (a RangeError here blanked the page).
 */
export function EventTime({ at }: { at: number }) {
  const { t } = useTranslation();
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return <span className="event-time">{t('history.unknownTime')}</span>;
  return <time dateTime={date.toISOString()}>{formatTime(at)}</time>;
}

/** Rendering more rows than this helps nobody; the search narrows it down. */
const MAX_ROWS = 200;
const HISTORY_REFRESH_MS = 150;

const RANGES = [
  { label: 'history.lastHour', ms: 60 * 60 * 1000 },
  { label: 'history.lastDay', ms: 24 * 60 * 60 * 1000 },
  { label: 'history.lastWeek', ms: 7 * 24 * 60 * 60 * 1000 },
  { label: 'history.allTime', ms: Number.POSITIVE_INFINITY },
] as const;

interface HistoryPanelProps {
  engine: EngineClient;
  /** Changes whenever the history does (here or in another tab). */
  version: number;
  announce(message: string): void;
}

export const HistoryPanel = memo(function HistoryPanel({ engine, version, announce }: HistoryPanelProps) {
  const { t, i18n } = useTranslation();
  const [entries, setEntries] = useState<HistoryEntry[]>([]);
  const [query, setQuery] = useState('');
  const [range, setRange] = useState(0);
  // Views (a card on screen for a second) outnumber everything else; they are listed on request.
  const [showViews, setShowViews] = useState(false);

  useEffect(() => {
    let current = true;
    // Debounced: a burst of events (or another tab's) refetches once, not once per event.
    // Up to 200 rows: rendered as a transition (interruptible), never in the way of the feed.
    const timer = setTimeout(() => void engine.history().then((list) => current && startTransition(() => setEntries(list))), HISTORY_REFRESH_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [engine, version]);

  const matching = useMemo(() => {
    const needle = query.trim().toLocaleLowerCase();
    const shown = showViews ? entries : entries.filter((entry) => entry.kind !== 'view');
    if (!needle) return shown;
    return shown.filter((entry) => entryTitle(entry).toLocaleLowerCase().includes(needle) || eventLabel(entry.kind).toLocaleLowerCase().includes(needle));
    // The language is a dependency: the kinds' names searched above are in it.
  }, [entries, query, showViews, i18n.language]);
  const viewCount = useMemo(() => entries.filter((entry) => entry.kind === 'view').length, [entries]);

  const deleteRange = async () => {
    const { label, ms } = RANGES[range]!;
    const now = Date.now();
    const deleted = await engine.deleteEventsBetween(Number.isFinite(ms) ? now - ms : 0, now);
    announce(t('history.deletedRange', { count: deleted, range: t(label) }));
  };

  return (
    <section className="panel" aria-labelledby="history-heading" id="history">
      <h2 id="history-heading">{t('history.heading')}</h2>
      <p className="panel-intro">{t('history.intro', { count: entries.length, formatted: formatNumber(entries.length) })}</p>
      <div className="panel-controls">
        <label>
          {t('history.search')} <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
        <label>
          <input type="checkbox" checked={showViews} onChange={(e) => setShowViews(e.target.checked)} /> {t('history.showViews', { count: viewCount })}
        </label>
        <label>
          {t('history.deleteFrom')}{' '}
          <select value={range} onChange={(e) => setRange(Number(e.target.value))}>
            {RANGES.map((r, i) => (
              <option key={r.label} value={i}>
                {t(r.label)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void deleteRange()} disabled={entries.length === 0}>
          {t('history.deleteRange')}
        </button>
      </div>
      {matching.length === 0 ? (
        <p>
          {entries.length === 0 ? t('history.empty') : entries.length === viewCount && !showViews && !query ? t('history.onlyViews') : t('history.noMatch')}
        </p>
      ) : (
        <ol className="history-list">
          {matching.slice(0, MAX_ROWS).map((entry) => (
            <HistoryRow key={entry.id} entry={entry} engine={engine} announce={announce} />
          ))}
        </ol>
      )}
      {matching.length > MAX_ROWS && <p>{t('history.newest', { shown: formatNumber(MAX_ROWS), total: formatNumber(matching.length) })}</p>}
    </section>
  );
});

/**
 * One entry. Memoised on what it shows: the list is fetched afresh after every event (new objects each
 * time), and a Like then renders the one new row, not up to 200 (each with its words and its date), on
 * the main thread the next Like needs. A change of language re-renders every row (useTranslation).
 */
const HistoryRow = memo(
  function HistoryRow({ entry, engine, announce }: { entry: HistoryEntry; engine: EngineClient; announce(message: string): void }) {
    const { t } = useTranslation();
    return (
      <li>
        <span className={`event-kind kind-${entry.kind}`}>{eventLabel(entry.kind)}</span> <span className="event-title">{entryTitle(entry)}</span>{' '}
        <EventTime at={entry.at} />{' '}
        <button
          type="button"
          className="delete-event"
          aria-label={t('history.deleteEvent', { kind: eventLabel(entry.kind), title: entryTitle(entry) })}
          onClick={() => void engine.deleteEvents([entry.id]).then(() => announce(t('history.deletedEvent', { title: entryTitle(entry) })))}
        >
          {t('history.delete')}
        </button>
      </li>
    );
  },
  (before, after) =>
    before.engine === after.engine &&
    before.announce === after.announce &&
    before.entry.id === after.entry.id &&
    before.entry.kind === after.entry.kind &&
    before.entry.itemId === after.entry.itemId &&
    before.entry.title === after.entry.title &&
    before.entry.at === after.entry.at,
);
