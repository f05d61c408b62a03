import { lazy, startTransition, Suspense, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EventKind } from '../core/events';
import type { FeedItem } from '../engine/api';
import { DataRescue, ErrorBoundary, PartFailed } from './ErrorBoundary';
import { Feed, type FocusRequest } from './Feed';
import type { PersistenceState } from './PrivacyPanel';
import { FeedControls } from './FeedControls';
import { describeKeptFeedWith } from './engine-boot';
import { GenreChips } from './GenreChips';
import { currentLanguage, i18n } from './i18n';
import { handOverShellFocus, takeShellEvents } from './kept-shell';
import { keptFeedView } from './kept-view';
import { StatusBar } from './StatusBar';
import { StorageNotice } from './StorageNotice';
import { useEngine } from './useEngine';
import { WarningText } from './WarningText';

const loadPanels = () => import('./Panels');
const Panels = lazy(loadPanels);
/** The panels mount at the page's first idle moment after the first feed, or after this long at most. */
const PANELS_IDLE_TIMEOUT_MS = 1500;
/** ...and not while the reader is clicking: this long after their last like, dislike or click. */
const PANELS_AFTER_USER_PAUSE_MS = 800;

/**
 * Whether to mount the panels below the feed (history, model, settings, privacy): once the first feed
 * is on screen, the page is idle and the reader has paused. Mounting them builds most of the page's DOM
 * (its commit is one synchronous piece of work, and its styles and layout follow); as part of the first
 * Like's synchronous render (a feed change renders at once, see useEngine) it made that Like wait tens of
 * milliseconds, and a reader who likes the first cards right after the page opens would meet it on one
 * of those likes. Set in a transition, so a Like meanwhile interrupts the render instead of waiting for it.
 */
function usePanelsWhenIdle(feedReady: boolean, lastUserEventAt: { readonly current: number }): boolean {
  const [mounted, setMounted] = useState(false);
  useEffect(() => {
    if (!feedReady || mounted) return;
    // The chunk downloads meanwhile; a failed download is reported by the lazy component's error boundary.
    loadPanels().catch(() => undefined);
    let cancel = () => {};
    const untilPause = () => lastUserEventAt.current + PANELS_AFTER_USER_PAUSE_MS - performance.now();
    // Checked again when the idle moment comes: the gaps between a burst of likes are idle moments too.
    const mountIfPaused = () => (untilPause() > 0 ? whenPaused() : startTransition(() => setMounted(true)));
    const whenPaused = () => {
      if (untilPause() > 0) {
        const timer = setTimeout(whenPaused, untilPause());
        cancel = () => clearTimeout(timer);
      } else if (typeof requestIdleCallback === 'function') {
        const id = requestIdleCallback(mountIfPaused, { timeout: PANELS_IDLE_TIMEOUT_MS });
        cancel = () => cancelIdleCallback(id);
      } else mountIfPaused();
    };
    const timer = setTimeout(whenPaused, 200);
    cancel = () => clearTimeout(timer);
    return () => cancel();
  }, [feedReady, mounted, lastUserEventAt]);
  return mounted;
}

const ANNOUNCEMENTS: Partial<Record<EventKind, (title: string) => string>> = {
  like: (title) => i18n.t('app.liked', { title }),
  dislike: (title) => i18n.t('app.hid', { title }),
};

/** Asks the browser to keep our storage; the answer is shown in the Privacy panel. */
function usePersistence(): [PersistenceState, () => Promise<boolean>] {
  const [state, setState] = useState<PersistenceState>('unknown');
  useEffect(() => {
    if (!navigator.storage?.persisted) return setState('unsupported');
    void navigator.storage.persisted().then((persisted) => persisted && setState('persistent'));
  }, []);
  // Asked once a visit; every caller gets the answer (true: the browser keeps the storage).
  const asked = useRef<Promise<boolean> | undefined>(undefined);
  const request = useCallback((): Promise<boolean> => {
    if (state === 'persistent') return Promise.resolve(true);
    if (!navigator.storage?.persist) return Promise.resolve(false);
    asked.current ??= navigator.storage.persist().then(
      (granted) => {
        setState(granted ? 'persistent' : 'best-effort');
        return granted;
      },
      () => false,
    );
    return asked.current;
  }, [state]);
  return [state, request];
}

export function App() {
  const { t } = useTranslation();
  const { snapshot, engine } = useEngine();
  const [announcement, setAnnouncement] = useState('');
  const [focusRequest, setFocusRequest] = useState<FocusRequest | undefined>(undefined);
  const [persistence, requestPersistence] = usePersistence();
  const [requestedDiversity, setRequestedDiversity] = useState<number | undefined>(undefined);
  // When the reader last liked, disliked or clicked (performance.now()); views do not count.
  const lastUserEventAt = useRef(Number.NEGATIVE_INFINITY);
  const panelsMounted = usePanelsWhenIdle(snapshot.phase === 'ready', lastUserEventAt);
  // The feed is marked busy (aria-busy) from a change of search or diversity until the engine's answer.
  const feedBusy = Boolean(snapshot.searching) || (requestedDiversity !== undefined && requestedDiversity !== snapshot.diversity);

  // Read through a ref so that onEvent keeps its identity when the feed changes (the cards are memoised on it).
  const feedRef = useRef(snapshot.feed);
  feedRef.current = snapshot.feed;
  const onEvent = useCallback(
    (kind: EventKind, item: FeedItem) => {
      if (!engine) return;
      if (kind !== 'view') lastUserEventAt.current = performance.now();
      const position = feedRef.current.findIndex((f) => f.id === item.id);
      void engine.record(kind, item.id).then(
        () => {
          const announce = ANNOUNCEMENTS[kind];
          if (announce) {
            setAnnouncement(announce(item.title));
            setFocusRequest({ index: position });
            // A like or a dislike is the first meaningful use: now the history is worth keeping.
            void requestPersistence();
          }
        },
        (error: unknown) => setAnnouncement(t('app.couldNotSave', { message: error instanceof Error ? error.message : String(error) })),
      );
    },
    [engine, requestPersistence, t],
  );

  // The early cards of a returning visit (kept-shell.ts) are gone with this first commit: the focus
  // comes back to the same control, and what the reader clicked there is recorded as if clicked here.
  useLayoutEffect(() => handOverShellFocus(), []);
  useEffect(() => {
    describeKeptFeedWith(keptFeedView);
    for (const { kind, item } of takeShellEvents()) onEvent(kind, item);
  }, [onEvent]);

  // A large download is about to start (a catalog's vectors at scale): asked first, the engine waits for the answer.
  const persistenceWanted = Boolean(snapshot.persistenceWanted);
  useEffect(() => {
    if (persistenceWanted && engine) void requestPersistence().then((granted) => engine.persistenceAnswered(granted));
  }, [persistenceWanted, engine, requestPersistence]);

  const onErased = useCallback(() => setAnnouncement(t('app.erasedAnnouncement')), [t]);

  if (snapshot.phase === 'error') {
    return (
      <main className="error-page">
        <h1>{t('app.errorTitle')}</h1>
        <p role="alert" lang="en">
          {snapshot.error}
        </p>
        <p>{t('app.errorAdvice')}</p>
        {/* The data actions run in the worker: not offered when it is the worker that failed. */}
        {engine && !snapshot.workerFailed && <DataRescue engine={engine} onErased={onErased} />}
      </main>
    );
  }

  if (snapshot.phase === 'erased') {
    return (
      <main className="error-page">
        <h1>{t('app.erasedTitle')}</h1>
        <p role="status">{t('app.erasedText')}</p>
        <button type="button" onClick={() => location.reload()}>
          {t('app.startAgain')}
        </button>
      </main>
    );
  }

  return (
    <>
      <header className="app-header">
        <h1>{t('app.name')}</h1>
        <p className="tagline">{t('app.tagline')}</p>
        <nav aria-label={t('app.sections')}>
          <a href="#recommendations-heading">{t('nav.recommendations')}</a> · <a href="#history">{t('nav.history')}</a> · <a href="#model">{t('nav.model')}</a>{' '}
          · <a href="#settings">{t('nav.settings')}</a> · <a href="#privacy">{t('nav.privacy')}</a>
        </nav>
      </header>
      <main>
        {snapshot.reloadReason && (
          <p role="alert" className="reload-banner">
            <span lang="en">{snapshot.reloadReason}</span>{' '}
            <button type="button" onClick={() => location.reload()}>
              {t('app.reload')}
            </button>
          </p>
        )}
        <StatusBar snapshot={snapshot} />
        <StorageNotice storage={snapshot.storage} />
        {snapshot.warnings.length > 0 && (
          <ul className="warnings" aria-label={t('app.warnings')}>
            {/* Codes from the worker, worded here in the interface's language (the English details marked so). */}
            {snapshot.warnings.map((warning, index) => (
              <li key={`${index}:${warning.code}`}>
                <WarningText warning={warning} language={currentLanguage()} />
              </li>
            ))}
          </ul>
        )}
        {/* Whatever throws below is shown as text, with the data actions where the Privacy panel is lost too. */}
        <ErrorBoundary fallback={(error) => <PartFailed error={error}>{engine && <DataRescue engine={engine} onErased={onErased} />}</PartFailed>}>
          {snapshot.phase === 'ready' && engine && (
            <FeedControls
              engine={engine}
              onDiversityRequested={setRequestedDiversity}
              query={snapshot.query}
              queryError={snapshot.queryError}
              diversity={snapshot.diversity}
            />
          )}
          {snapshot.phase === 'ready' && engine && (
            <GenreChips
              engine={engine}
              genres={snapshot.genres}
              chosen={snapshot.chosenGenres}
              catalogSize={snapshot.catalog?.size}
              announce={setAnnouncement}
              onError={setAnnouncement}
            />
          )}
          {/* While loading: the feed the reader left (restoredFeed), or the publisher's popular items at scale (engine/catalog-scale.ts headFeed). */}
          {(snapshot.phase === 'ready' || snapshot.restoredFeed || (snapshot.phase === 'loading' && snapshot.feed.length > 0)) && (
            <Feed items={snapshot.feed} onEvent={onEvent} focusRequest={focusRequest} busy={feedBusy} />
          )}
          {snapshot.phase === 'ready' && engine && panelsMounted && (
            // Their own boundary: panels that fail to load or render leave the feed, and offer the data actions.
            <ErrorBoundary
              fallback={(error) => (
                <PartFailed error={error}>
                  <DataRescue engine={engine} onErased={onErased} />
                </PartFailed>
              )}
            >
              <Suspense fallback={null}>
                <Panels engine={engine} snapshot={snapshot} persistence={persistence} announce={setAnnouncement} onErased={onErased} />
              </Suspense>
            </ErrorBoundary>
          )}
        </ErrorBoundary>
        <p className="visually-hidden" aria-live="polite">
          {announcement}
        </p>
      </main>
      {snapshot.catalog?.attribution && (
        <footer className="app-footer">
          <p>{t('app.footer', { attribution: snapshot.catalog.attribution, license: snapshot.catalog.license })}</p>
        </footer>
      )}
    </>
  );
}
