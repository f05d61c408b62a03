/**
 * Starting the engine's worker from a widget that may run on someone else's page. Every URL is
 * resolved against this script's own URL (import.meta.url), never the host page's: the worker, the
 * model files and the default catalog live with the widget, wherever the host is.
 */
import { startModuleWorker } from '../engine/module-worker';
import workerPath from '../engine/worker.ts?worker&url';

/** An absolute URL of a file the app serves (e.g. "models/use-lite/"), from wherever this script came. */
export function widgetAssetUrl(path: string): string {
  return new URL(`${import.meta.env.BASE_URL}${path}`, import.meta.url).href;
}

/** The engine's worker, started from this script's origin (see startModuleWorker). */
export function startEngineWorker(): Worker {
  return startModuleWorker(new URL(workerPath, import.meta.url), 'private-recs-engine');
}
