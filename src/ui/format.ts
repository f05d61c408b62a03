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
