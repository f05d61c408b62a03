/*
 * Imported by the service worker (vite.config.ts, workbox.importScripts). A page load races the
 * network against the worker's own answer (the Service Worker Static Routing API, Chromium 123+):
 * a returning visit in a new browser session then does not wait for the worker to start before its
 * HTML arrives, and offline the worker's precached page still answers. Browsers without the API
 * ignore this and let the worker answer as before. Hand-written: Workbox has no option for it.
 */
self.addEventListener('install', (event) => {
  if (typeof event.addRoutes !== 'function') return;
  event.waitUntil(
    event.addRoutes({ condition: { requestMode: 'navigate' }, source: 'race-network-and-fetch-handler' }).catch(() => undefined),
  );
});
