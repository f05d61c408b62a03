/** The UI's handle on the engine: a comlink proxy over the worker. The UI imports no ML code. */
import * as Comlink from 'comlink';
import type { EngineApi } from '../engine/api';

export type EngineClient = Comlink.Remote<EngineApi>;

/**
 * `onWorkerError` hears the worker's `error` event: its script failed to load or run, or an error
 * escaped one of its tasks (comlink returns the errors of calls themselves to their callers).
 */
export function connectEngine(onWorkerError: (message: string) => void): EngineClient {
  const worker = new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module', name: 'engine' });
  // A script that fails to load fires a plain Event (no message), an uncaught error an ErrorEvent.
  worker.addEventListener('error', (event: Event) => {
    const message = event instanceof ErrorEvent ? event.message : '';
    onWorkerError(message || 'its script could not be loaded or run');
  });
  return Comlink.wrap<EngineApi>(worker);
}

export const listen = Comlink.proxy;
