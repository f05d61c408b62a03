/**
 * Starting the engine's worker from a widget that may run on someone else's page. Every URL is
 * resolved against this script's own URL (import.meta.url), never the host page's: the worker, the
 * model files and the default catalog live with the widget, wherever the host is.
 */
import workerPath from '../engine/worker.ts?worker&url';

/** An absolute URL of a file the app serves (e.g. "models/use-lite/"), from wherever this script came. */
export function widgetAssetUrl(path: string): string {
  return new URL(`${import.meta.env.BASE_URL}${path}`, import.meta.url).href;
}

/**
 * Browsers refuse `new Worker(url)` for a script of another origin. From a host page on another
 * origin, the worker starts from a one-line blob module that imports the real one (a cross-origin
 * module import, allowed by CORS); the worker then runs in the host's origin, under the host's CSP
 * (which must allow `worker-src blob:` and our origin in script-src and connect-src: see README).
 */
export function startEngineWorker(): Worker {
  const url = new URL(workerPath, import.meta.url);
  if (url.origin === location.origin) return new Worker(url, { type: 'module', name: 'private-recs-engine' });
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  const worker = new Worker(shim, { type: 'module', name: 'private-recs-engine' });
  // The worker has fetched its script once it speaks; the blob URL is not needed after that.
  worker.addEventListener('message', () => URL.revokeObjectURL(shim), { once: true });
  return worker;
}
