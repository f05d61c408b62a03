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
