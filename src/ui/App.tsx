import { useCallback, useState } from 'react';
import type { EventKind } from '../core/events';
import type { EngineConfig, FeedItem } from '../engine/api';
import { Feed } from './Feed';
import { StatusBar } from './StatusBar';
import { useEngine } from './useEngine';

const CONFIG: EngineConfig = {
  catalogUrl: `${import.meta.env.BASE_URL}catalog/goodbooks-10k.json`,
  encoderUrl: `${import.meta.env.BASE_URL}models/use-lite/`,
  feedSize: 20,
};

const ANNOUNCEMENTS: Partial<Record<EventKind, (title: string) => string>> = {
  like: (title) => `Liked “${title}”. Recommendations updated.`,
  dislike: (title) => `Hid “${title}”. Recommendations updated.`,
};

export function App() {
  const { snapshot, engine } = useEngine(CONFIG);
  const [announcement, setAnnouncement] = useState('');
  const [focusIndex, setFocusIndex] = useState<number | undefined>(undefined);

  const onEvent = useCallback(
    (kind: EventKind, item: FeedItem) => {
      if (!engine) return;
      const position = snapshot.feed.findIndex((f) => f.id === item.id);
      void engine.record(kind, item.id).then(
        () => {
          const announce = ANNOUNCEMENTS[kind];
          if (announce) {
            setAnnouncement(announce(item.title));
            setFocusIndex(position);
          }
        },
        (error: unknown) => setAnnouncement(`Could not save that: ${String(error)}`),
      );
    },
    [engine, snapshot.feed],
  );

  if (snapshot.phase === 'error') {
    return (
      <main className="error-page">
        <h1>Something is wrong with the catalog</h1>
        <p role="alert">{snapshot.error}</p>
        <p>Nothing you did was lost: your history stays in this browser. Fix the catalog and reload the page.</p>
      </main>
    );
  }

  return (
    <>
      <header className="app-header">
        <h1>Private Recs</h1>
        <p className="tagline">Book recommendations computed on your device. Nothing you do leaves this browser.</p>
      </header>
      <main>
        <StatusBar snapshot={snapshot} />
        {snapshot.warnings.length > 0 && (
          <ul className="warnings" aria-label="Warnings">
            {snapshot.warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        )}
        {snapshot.phase === 'ready' && <Feed items={snapshot.feed} onEvent={onEvent} focusIndex={focusIndex} />}
        <p className="visually-hidden" aria-live="polite">
          {announcement}
        </p>
      </main>
      {snapshot.catalog?.attribution && (
        <footer className="app-footer">
          <p>
            Catalog: {snapshot.catalog.attribution} License: {snapshot.catalog.license}.
          </p>
        </footer>
      )}
    </>
  );
}
