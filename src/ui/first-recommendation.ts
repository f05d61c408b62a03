/**
 * How the page marks its first recommendation, read by the browser benchmark (cli/bench-browser.ts):
 * the mark is set when the feed is first in the DOM (the kept feed's early paint, kept-shell.ts, or
 * React's commit, Feed.tsx), and the top card's title carries the Element Timing identifier, so the
 * browser reports when that text was first painted.
 */
export const FIRST_RECOMMENDATION_MARK = 'first-recommendation';
export const FIRST_RECOMMENDATION_ELEMENT = 'first-recommendation';

/** A card shows this many of an item's genres (the catalog lists the most telling first). */
export const MAX_GENRE_TAGS = 4;

/** Marks the first recommendation, once per page. */
export function markFirstRecommendation(): void {
  if (performance.getEntriesByName(FIRST_RECOMMENDATION_MARK).length === 0) performance.mark(FIRST_RECOMMENDATION_MARK);
}
