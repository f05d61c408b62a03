/** The history in IndexedDB: appended, listed, deleted, and merged from an import. */
import type { FeedbackEvent } from '../../core/events';
import { eventKey } from '../../core/export-format';
import { isValidEventRecord } from '../records';
import type { ImportedData, ListedEvents, StoredEvent } from '../store';
import type { RecsDatabase } from './schema';
import { settled } from './settled';

/** Appends one event; returns it with its id. */
export async function appendEvent(db: RecsDatabase, event: FeedbackEvent): Promise<StoredEvent> {
  const record = { kind: event.kind, itemId: event.itemId, at: event.at } as StoredEvent;
  const id = await db.add('events', record);
  return { ...record, id };
}

/** The whole history, oldest first. Records that fail to decode are skipped and counted. */
export async function listEvents(db: RecsDatabase): Promise<ListedEvents> {
  const all: unknown[] = await settled(db.transaction('events')).store.getAll();
  const events = all.filter(isValidEvent);
  return { events, skipped: all.length - events.length };
}

export async function deleteEvents(db: RecsDatabase, ids: readonly number[]): Promise<void> {
  const tx = settled(db.transaction('events', 'readwrite'));
  await Promise.all([...ids.map((id) => tx.store.delete(id)), tx.done]);
}

/** Deletes every event with from ≤ at ≤ to; returns how many. */
export async function deleteEventsBetween(db: RecsDatabase, from: number, to: number): Promise<number> {
  const tx = settled(db.transaction('events', 'readwrite'));
  let deleted = 0;
  for (let cursor = await tx.store.index('by-time').openCursor(IDBKeyRange.bound(from, to)); cursor; cursor = await cursor.continue()) {
    await cursor.delete();
    deleted++;
  }
  await tx.done;
  return deleted;
}

/**
 * Adds imported events, weights and settings in one transaction: events already present (same
 * kind, item and time) are not added twice. Returns how many events were new.
 */
export async function importData(db: RecsDatabase, data: ImportedData): Promise<number> {
  const tx = settled(db.transaction(['events', 'weights', 'settings'], 'readwrite'));
  const existing = new Set((await tx.objectStore('events').getAll()).filter(isValidEvent).map(eventKey));
  let added = 0;
  for (const event of [...data.events].sort((a, b) => a.at - b.at)) {
    const key = eventKey(event);
    if (existing.has(key)) continue;
    existing.add(key);
    await tx.objectStore('events').add({ kind: event.kind, itemId: event.itemId, at: event.at } as StoredEvent);
    added++;
  }
  for (const weight of data.weights) await tx.objectStore('weights').put(weight);
  for (const [name, value] of Object.entries(data.settings)) await tx.objectStore('settings').put(value, name);
  await tx.done;
  return added;
}

function isValidEvent(value: unknown): value is StoredEvent {
  return isValidEventRecord(value);
}
