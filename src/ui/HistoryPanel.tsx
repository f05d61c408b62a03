import { memo, startTransition, useEffect, useMemo, useState } from 'react';
import type { HistoryEntry } from '../engine/api';
import type { EngineClient } from './engine-client';
import { EVENT_LABELS, formatTime } from './format';

/** Rendering more rows than this helps nobody; the search narrows it down. */
const MAX_ROWS = 200;
const HISTORY_REFRESH_MS = 150;

const RANGES = [
  { label: 'the last hour', ms: 60 * 60 * 1000 },
  { label: 'the last 24 hours', ms: 24 * 60 * 60 * 1000 },
  { label: 'the last 7 days', ms: 7 * 24 * 60 * 60 * 1000 },
  { label: 'all time', ms: Number.POSITIVE_INFINITY },
] as const;

interface HistoryPanelProps {
  engine: EngineClient;
  /** Changes whenever the history does (here or in another tab). */
  version: number;
  announce(message: string): void;
}

export const HistoryPanel = memo(function HistoryPanel({ engine, version, announce }: HistoryPanelProps) {
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
    return shown.filter(
      (entry) => entry.title.toLocaleLowerCase().includes(needle) || EVENT_LABELS[entry.kind].toLocaleLowerCase().includes(needle),
    );
  }, [entries, query, showViews]);
  const viewCount = useMemo(() => entries.filter((entry) => entry.kind === 'view').length, [entries]);

  const deleteRange = async () => {
    const { label, ms } = RANGES[range]!;
    const now = Date.now();
    const deleted = await engine.deleteEventsBetween(Number.isFinite(ms) ? now - ms : 0, now);
    announce(`Deleted ${deleted} ${deleted === 1 ? 'event' : 'events'} from ${label}.`);
  };

  return (
    <section className="panel" aria-labelledby="history-heading" id="history">
      <h2 id="history-heading">History</h2>
      <p className="panel-intro">
        Everything you did here, newest first ({entries.length} {entries.length === 1 ? 'event' : 'events'}). It never
        leaves this browser. Deleting an event updates your recommendations.
      </p>
      <div className="panel-controls">
        <label>
          Search history <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
        <label>
          <input type="checkbox" checked={showViews} onChange={(e) => setShowViews(e.target.checked)} /> Show views ({viewCount})
        </label>
        <label>
          Delete history from{' '}
          <select value={range} onChange={(e) => setRange(Number(e.target.value))}>
            {RANGES.map((r, i) => (
              <option key={r.label} value={i}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void deleteRange()} disabled={entries.length === 0}>
          Delete range
        </button>
      </div>
      {matching.length === 0 ? (
        <p>
          {entries.length === 0
            ? 'Nothing yet: like or open a book and it shows up here.'
            : entries.length === viewCount && !showViews && !query
              ? 'Only views so far: like or open a book and it shows up here.'
              : 'No event matches.'}
        </p>
      ) : (
        <ol className="history-list">
          {matching.slice(0, MAX_ROWS).map((entry) => (
            <li key={entry.id}>
              <span className={`event-kind kind-${entry.kind}`}>{EVENT_LABELS[entry.kind]}</span>{' '}
              <span className="event-title">{entry.title}</span>{' '}
              <time dateTime={new Date(entry.at).toISOString()}>{formatTime(entry.at)}</time>{' '}
              <button
                type="button"
                className="delete-event"
                aria-label={`Delete “${EVENT_LABELS[entry.kind]}: ${entry.title}”`}
                onClick={() => void engine.deleteEvents([entry.id]).then(() => announce(`Deleted “${entry.title}” from your history.`))}
              >
                Delete
              </button>
            </li>
          ))}
        </ol>
      )}
      {matching.length > MAX_ROWS && <p>Showing the newest {MAX_ROWS} of {matching.length}; search to find older ones.</p>}
    </section>
  );
});
