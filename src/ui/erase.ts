/**
 * "Erase all my data", apart from the Privacy panel that offers it: the error boundary's fallback
 * (ErrorBoundary.tsx, in the page's first bundle) calls it too, and the panel loads later, with the
 * other panels.
 */
import type { EngineClient } from './engine-client';
import { forgetLanguageChoice } from './i18n/chosen-language';
import { forgetLastFeed } from '../storage/last-feed';

/** What the page keeps outside the engine's storage (localStorage): the language chosen in Settings, the last feed. */
export function forgetPageData(): void {
  forgetLanguageChoice();
  forgetLastFeed();
}

/** Longest wait for an installing service worker before erasing anyway. */
const INSTALL_WAIT_MS = 20_000;

/** Resolves once `worker` has stopped installing (its cache writes are done), or after INSTALL_WAIT_MS. */
function installFinished(worker: ServiceWorker): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      if (worker.state === 'installing') return;
      worker.removeEventListener('statechange', done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      worker.removeEventListener('statechange', done);
      resolve();
    }, INSTALL_WAIT_MS);
    worker.addEventListener('statechange', done);
    done();
  });
}

/**
 * "Erase all my data": the service worker, the engine's stores and caches, the language choice. Also
 * what the error boundary's fallback calls (ErrorBoundary.tsx) when this panel could not render.
 */
export async function eraseEverything(engine: EngineClient): Promise<void> {
  // The service worker goes first: one still installing (a first visit's precache is ~10 MB) would
  // otherwise write its cache again after the caches were deleted.
  const registrations = (await navigator.serviceWorker?.getRegistrations?.()) ?? [];
  await Promise.all(
    registrations.map(async (registration) => {
      const installing = registration.installing;
      await registration.unregister();
      if (installing) await installFinished(installing);
    }),
  );
  // Before the engine's erase too: the engine reports "erased" (the page then says all is gone) before its
  // answer to eraseAll() reaches this function, and a page closed in between kept the language chosen.
  forgetPageData();
  await engine.eraseAll();
  // Again after it: a kept feed whose timer ran while the engine was erasing (engine-boot.ts forgets it too).
  forgetPageData();
}
