/**
 * The feed as the reader last saw it, kept in this origin's localStorage so that a returning visit
 * shows it at once, before the engine worker has read the catalog and the database (a second or two
 * on a 2-core machine): the cards are the reader's own last recommendations, and the engine's live
 * feed replaces them as soon as it is ranked (the same books, unless the catalog changed).
 *
 * Main thread only (a worker has no localStorage). What is kept is derived from the history: it stays
 * in the browser, is listed in the Privacy panel, and is forgotten by "Erase all my data". Only a feed
 * without a search is kept (a search is not restored either). Everything read back is validated like
 * any input: a damaged or edited value is ignored and removed, never shown.
 */
import { z } from '../core/schema';
import type { FeedItem } from '../engine/api';

export const LAST_FEED_STORAGE_KEY = 'private-recs:last-feed';
const VERSION = 1;
/** More than any feed the app shows (20): a longer list is not ours. */
const MAX_ITEMS = 50;
const MAX_CHARS = 1000;

const text = z.string().check(z.maxLength(MAX_CHARS));
const itemSchema = z.object({
  id: text.check(z.minLength(1)),
  title: text,
  byline: z.optional(text),
  year: z.optional(z.number().check(z.gte(-5000), z.lte(10_000))),
  reason: text,
  genres: z.optional(z.array(text).check(z.maxLength(20))),
});
/**
 * The words the page showed around the feed, in the interface's language when it was kept: the next
 * visit paints the kept feed with them before the interface's bundle has loaded (ui/kept-shell.ts).
 * Optional: a record without them (kept before they were) is shown once React has loaded, as before.
 */
const viewSchema = z.object({
  language: text,
  strings: z.object({
    appName: text,
    tagline: text,
    sections: text,
    recommendations: text,
    history: text,
    model: text,
    settings: text,
    privacy: text,
    starting: text,
    heading: text,
    genres: text,
    like: text,
    dislike: text,
  }),
  /** Per kept item, in the feed's order: the genre tags as the card showed them. */
  items: z.array(z.object({ tags: z.array(text).check(z.maxLength(20)) })).check(z.maxLength(MAX_ITEMS)),
});
export type KeptFeedView = z.infer<typeof viewSchema>;

const recordSchema = z.object({
  version: z.literal(VERSION),
  catalogUrl: text,
  savedAt: z.number(),
  feed: z.array(itemSchema).check(z.minLength(1), z.maxLength(MAX_ITEMS)),
  view: z.optional(viewSchema),
});

type StoredFeedItem = z.infer<typeof itemSchema>;

function storage(): globalThis.Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    // A sandboxed or storage-blocked frame throws on the mere access.
    return undefined;
  }
}

/** The stored value, parsed and checked; undefined when absent, 'damaged' when it is not ours. */
function readRecord(): z.infer<typeof recordSchema> | 'damaged' | undefined {
  let raw: string | null | undefined;
  try {
    raw = storage()?.getItem(LAST_FEED_STORAGE_KEY);
  } catch {
    return undefined;
  }
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = raw.length <= MAX_ITEMS * 8 * MAX_CHARS ? JSON.parse(raw) : undefined;
  } catch {
    parsed = undefined;
  }
  const record = recordSchema.safeParse(parsed);
  return record.success ? record.data : 'damaged';
}

/**
 * The feed kept for this catalog with the words it was shown with, if they were kept and describe
 * every item (else `view` is absent); undefined when none is kept, it is another catalog's, or it is
 * damaged (then removed).
 */
export function readKeptFeed(catalogUrl: string): { feed: FeedItem[]; view?: KeptFeedView } | undefined {
  const record = readRecord();
  if (record === 'damaged') forgetLastFeed();
  if (record === undefined || record === 'damaged' || record.catalogUrl !== catalogUrl) return undefined;
  const feed = record.feed.map(copyItem);
  return record.view && record.view.items.length === feed.length ? { feed, view: record.view } : { feed };
}

/**
 * Keeps `feed` (the reasons' short text, not the "Why?" details, which the live feed brings) and,
 * when given, the words it is shown with (`view`, one entry per item of `feed` as kept).
 */
export function keepLastFeed(catalogUrl: string, feed: readonly FeedItem[], view?: KeptFeedView): void {
  const store = storage();
  if (!store || feed.length === 0) return;
  const kept = feed.slice(0, MAX_ITEMS);
  const record = {
    version: VERSION,
    catalogUrl,
    savedAt: Date.now(),
    feed: kept.map(copyItem),
    ...(view && view.items.length >= kept.length ? { view: { ...view, items: view.items.slice(0, kept.length) } } : {}),
  };
  try {
    store.setItem(LAST_FEED_STORAGE_KEY, JSON.stringify(record));
  } catch {
    // Full or blocked: the next visit waits for the engine, as without this cache.
  }
}

/** Forgets the kept feed (part of "Erase all my data"). */
export function forgetLastFeed(): void {
  try {
    storage()?.removeItem(LAST_FEED_STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

/** The kept feed's size in bytes as stored (UTF-16), for the Privacy panel; 0 when none. */
export function lastFeedBytes(): number {
  try {
    return (storage()?.getItem(LAST_FEED_STORAGE_KEY)?.length ?? 0) * 2;
  } catch {
    return 0;
  }
}

/** How many books the kept feed holds (0 when none or unreadable), for the Privacy panel. */
export function lastFeedCount(): number {
  const record = readRecord();
  return record === undefined || record === 'damaged' ? 0 : record.feed.length;
}

function copyItem(item: StoredFeedItem | FeedItem): FeedItem {
  return {
    id: item.id,
    title: item.title,
    ...(item.byline !== undefined ? { byline: item.byline } : {}),
    ...(item.year !== undefined ? { year: item.year } : {}),
    reason: item.reason,
    ...(item.genres !== undefined ? { genres: [...item.genres] } : {}),
  };
}
