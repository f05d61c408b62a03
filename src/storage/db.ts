/**
 * The only module that touches IndexedDB. A typed schema (idb's DBSchema), one transaction per write.
 * Stores: events (the user's history, append-only with a monotonic id), embeddings (cache keyed by
 * model id and text hash), meta (schema facts).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { EVENT_KINDS, type FeedbackEvent } from '../core/events';

export const DB_NAME = 'private-recs';
export const DB_VERSION = 1;

export interface StoredEvent extends FeedbackEvent {
  /** Monotonic, assigned by IndexedDB. */
  id: number;
}

export interface StoredEmbedding {
  modelId: string;
  textHash: string;
  vector: Float32Array;
}

interface RecsSchema extends DBSchema {
  events: {
    key: number;
    value: StoredEvent;
    indexes: { 'by-item': string; 'by-time': number };
  };
  embeddings: {
    key: [string, string];
    value: StoredEmbedding;
  };
  meta: {
    key: string;
    value: unknown;
  };
}

export class Storage {
  private constructor(private readonly db: IDBPDatabase<RecsSchema>) {}

  static async open(name = DB_NAME): Promise<Storage> {
    const db = await openDB<RecsSchema>(name, DB_VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          const events = database.createObjectStore('events', { keyPath: 'id', autoIncrement: true });
          events.createIndex('by-item', 'itemId');
          events.createIndex('by-time', 'at');
          database.createObjectStore('embeddings', { keyPath: ['modelId', 'textHash'] });
          database.createObjectStore('meta');
        }
      },
      blocked() {
        // Another tab holds an older version open; it is asked to close below (versionchange).
      },
    });
    // A newer tab wants to upgrade: step aside instead of blocking it.
    db.addEventListener('versionchange', () => db.close());
    return new Storage(db);
  }

  /** Appends one event; returns it with its id. */
  async appendEvent(event: FeedbackEvent): Promise<StoredEvent> {
    const record = { kind: event.kind, itemId: event.itemId, at: event.at } as StoredEvent;
    const id = await this.db.add('events', record);
    return { ...record, id };
  }

  /** The whole history, oldest first. Records that fail to decode are skipped. */
  async listEvents(): Promise<StoredEvent[]> {
    const all = await this.db.getAll('events');
    return all.filter(isValidEvent);
  }

  /** Cached vectors for these text hashes under one model; missing ones are absent from the map. */
  async getEmbeddings(modelId: string, hashes: readonly string[]): Promise<Map<string, Float32Array>> {
    const wanted = new Set(hashes);
    const found = new Map<string, Float32Array>();
    // One range scan over the model's keys beats thousands of point reads.
    const range = IDBKeyRange.bound([modelId, ''], [modelId, '\uffff']);
    for (const record of await this.db.getAll('embeddings', range)) {
      if (wanted.has(record.textHash) && record.vector instanceof Float32Array) found.set(record.textHash, record.vector);
    }
    return found;
  }

  /** Stores one batch of vectors in one transaction. */
  async putEmbeddings(records: readonly StoredEmbedding[]): Promise<void> {
    const tx = this.db.transaction('embeddings', 'readwrite');
    await Promise.all([...records.map((record) => tx.store.put(record)), tx.done]);
  }

  close(): void {
    this.db.close();
  }
}

const KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);

function isValidEvent(value: unknown): value is StoredEvent {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.id === 'number' &&
    typeof record.kind === 'string' &&
    KINDS.has(record.kind) &&
    typeof record.itemId === 'string' &&
    typeof record.at === 'number' &&
    Number.isFinite(record.at)
  );
}
