/**
 * The line that says what will not be kept while storage is refused or lost, in English: what the
 * engine reports (./fallback.ts), the app shows (ui/i18n/en.ts) and the widget shows (widget/strings.ts).
 * No imports, so that the widget's bundle takes these words and nothing else.
 */

/** Why nothing is being stored on this device now. */
export type MemoryReason = 'unavailable' | 'blocked' | 'quota' | 'lost';

/** One line for people: what will not be kept, and why. */
export const MEMORY_NOTICES: Record<MemoryReason, string> = {
  unavailable: 'Your picks are kept for this visit only: this browser does not let the recommender store them.',
  blocked: 'Your picks are kept for this visit only: another tab of this app holds its data open. Close that tab and reload to keep them.',
  quota: "This browser's storage for the app is full: new picks are kept for this visit only. Everything saved before is still saved.",
  lost: 'The browser closed or removed the saved data while the page was open: new picks are kept for this visit only.',
};
