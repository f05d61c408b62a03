/** What a person does with an item. Stored as-is in IndexedDB; never leaves the device. */
export const EVENT_KINDS = ['view', 'click', 'like', 'dislike', 'genre'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
/** The kinds that name a catalog item (every kind but 'genre'). */
export type ItemEventKind = Exclude<EventKind, 'genre'>;

export interface FeedbackEvent {
  kind: EventKind;
  /**
   * The catalog item's id; for a 'genre' event (a genre chosen in "What do you like to read?") the
   * genre's name as the catalog spells it ("fantasy"), not prefixed: the kind says it is not an item.
   */
  itemId: string;
  /** Milliseconds since the epoch. */
  at: number;
}

/** Likes and dislikes are explicit marks: a marked item leaves the feed. */
export function isMark(kind: EventKind): kind is 'like' | 'dislike' {
  return kind === 'like' || kind === 'dislike';
}

/** Whether an event of this kind names a catalog item (a genre choice names a genre). */
export function isItemEvent(kind: EventKind): kind is ItemEventKind {
  return kind !== 'genre';
}
