/**
 * Numbers, sizes, dates and durations in the interface's language (Intl, in the locale i18next speaks
 * now). Components call these while rendering; useTranslation re-renders them when the language changes.
 */
import { currentLanguage, i18n, type Language } from './i18n';

/** Intl formatters are costly to build and read on every render: one per language and options. */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function numberFormat(language: Language, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `n|${language}|${JSON.stringify(options)}`;
  let format = formatters.get(key) as Intl.NumberFormat | undefined;
  if (!format) formatters.set(key, (format = new Intl.NumberFormat(language, options)));
  return format;
}

/** 12,345: grouping as the language writes it. */
export function formatNumber(value: number, language: Language = currentLanguage()): string {
  return numberFormat(language, {}).format(value);
}

/** A fixed number of decimals (losses, ε), in the language's digits and separators. */
export function formatDecimal(value: number, digits: number, language: Language = currentLanguage()): string {
  return numberFormat(language, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/** A share in 0..1 as a whole percentage: "45%". */
export function formatPercent(share: number, language: Language = currentLanguage()): string {
  return numberFormat(language, { style: 'percent', maximumFractionDigits: 0 }).format(share);
}

export function formatBytes(bytes: number, language: Language = currentLanguage()): string {
  if (bytes < 1024) return `${formatNumber(bytes, language)} B`;
  if (bytes < 1024 * 1024) return `${formatDecimal(bytes / 1024, 1, language)} KB`;
  if (bytes < 1024 ** 3) return `${formatDecimal(bytes / 1024 ** 2, 1, language)} MB`;
  return `${formatDecimal(bytes / 1024 ** 3, 2, language)} GB`;
}

export function formatTime(at: number, language: Language = currentLanguage()): string {
  const key = `d|${language}`;
  let format = formatters.get(key) as Intl.DateTimeFormat | undefined;
  if (!format) formatters.set(key, (format = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' })));
  return format.format(at);
}

/** What a history entry's kind is called ("Liked", "喜欢"); a kind this UI does not know is shown as stored. */
export function eventLabel(kind: string): string {
  switch (kind) {
    case 'like':
    case 'dislike':
    case 'click':
    case 'view':
    case 'genre':
      return i18n.t(`events.${kind}`);
    default:
      return kind;
  }
}

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
  if (seconds < 60) return i18n.t('timeLeft.underAMinute');
  return i18n.t('timeLeft.minutes', { count: Math.round(seconds / 60) });
}
