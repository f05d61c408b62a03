/** What a person does with an item. Stored as-is in IndexedDB; never leaves the device. */
export const EVENT_KINDS = ['view', 'click', 'like', 'dislike'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface FeedbackEvent {
  kind: EventKind;
  itemId: string;
  /** Milliseconds since the epoch. */
  at: number;
}

/** Likes and dislikes are explicit marks: a marked item leaves the feed. */
export function isMark(kind: EventKind): kind is 'like' | 'dislike' {
  return kind === 'like' || kind === 'dislike';
}
