import { useRef } from 'react';
import { timeLeftText, type ProgressSample } from './format';

/**
 * "about 2 minutes left" for long work the snapshot reports as `done` of `total` (undefined when there
 * is none): estimated from the rate since this component first saw it, started again when the total
 * changes or the count goes back (another piece of work).
 */
export function useTimeLeft(progress: { done: number; total: number } | undefined): string | undefined {
  const since = useRef<ProgressSample & { total: number }>(undefined);
  if (!progress) {
    since.current = undefined;
    return undefined;
  }
  const now = { at: performance.now(), done: progress.done };
  const start = since.current;
  if (!start || start.total !== progress.total || start.done > now.done) {
    since.current = { ...now, total: progress.total };
    return undefined;
  }
  return timeLeftText(start, now, progress.total);
}
