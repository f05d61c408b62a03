/**
 * The engine worker failed where the page can see it (its script did not load or run, or an error
 * escaped one of its tasks): the worker cannot say so itself, so the page words it.
 */
import type { EngineSnapshot } from '../engine/api';
import { STARTING } from './starting-snapshot';

/**
 * The snapshot to show after the worker's `error` event. Before the engine is ready the page would
 * otherwise wait forever on "Loading…": it becomes the error page (with the data actions). Once it is
 * ready the feed stays usable as far as it goes, and the reload banner says what happened and offers
 * the reload that starts the engine again. After an erase there is nothing left to run.
 */
export function snapshotAfterWorkerError(latest: EngineSnapshot | undefined, message: string): EngineSnapshot | undefined {
  const current = latest ?? STARTING;
  if (current.phase === 'erased' || current.phase === 'error') return undefined;
  const detail = message.trim() || 'no message';
  if (current.phase !== 'ready') {
    return { ...current, phase: 'error', error: `The recommendation engine could not start: ${detail}`, activity: undefined, workerFailed: true };
  }
  return { ...current, reloadReason: `Something went wrong in the recommendation engine (${detail}). Reload the page to start it again.` };
}
