import type { EventKind } from '../core/events';

export const EVENT_LABELS: Readonly<Record<EventKind, string>> = {
  like: 'Liked',
  dislike: 'Not interested',
  click: 'Opened',
  view: 'Viewed',
};

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const formatTime = (at: number) => timeFormat.format(at);

/** Hands the user a file through the browser's download (nothing is uploaded), named `<prefix>-YYYY-MM-DD.<extension>`. */
export function saveFile(blob: Blob, prefix: string, extension: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `${prefix}-${new Date().toISOString().slice(0, 10)}.${extension}`;
  link.click();
  // Revoked later, not at once: the download may still be reading the blob.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Progress of long work at one moment: `done` of some total, at `at` milliseconds. */
export interface ProgressSample {
  at: number;
  done: number;
}

/** Below this much observed work an estimate of the time left would jump about: none is given. */
const MIN_ESTIMATE_WINDOW_MS = 8000;

/**
 * "about 2 minutes left" for work `total` long, from where it stood when first seen (`since`) and where it
 * stands `now`: the average rate since then, so one slow batch does not swing it. Undefined until
 * MIN_ESTIMATE_WINDOW_MS of progress has been seen, or when nothing has moved.
 */
export function timeLeftText(since: ProgressSample, now: ProgressSample, total: number): string | undefined {
  const elapsed = now.at - since.at;
  const moved = now.done - since.done;
  if (elapsed < MIN_ESTIMATE_WINDOW_MS || moved <= 0) return undefined;
  const seconds = ((total - now.done) * elapsed) / moved / 1000;
  if (seconds < 60) return 'less than a minute left';
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? 'about a minute left' : `about ${minutes} minutes left`;
}
