/**
 * The IndexedDB database's typed schema (idb's DBSchema) and its versioned migrations. Stores:
 *  - events: the user's history, append-only with a monotonic id (autoIncrement);
 *  - embeddings: cache of text vectors by model id and text hash, packed per encoded batch;
 *  - weights: the personal model's parameters, by name, versioned;
 *  - settings: the user's choices, by name;
 *  - meta: facts about the database itself (schema version, last quota check).
 */
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { EmbeddingChunk, SettingValue, StoredEvent, StoredWeight } from '../store';

export const DB_NAME = 'private-recs';

export interface RecsSchema extends DBSchema {
  events: {
    key: number;
    value: StoredEvent;
    indexes: { 'by-item': string; 'by-time': number; 'by-kind': string };
  };
  embeddings: {
    key: [string, string];
    value: EmbeddingChunk;
  };
  weights: {
    key: string;
    value: StoredWeight;
  };
  settings: {
    key: string;
    value: SettingValue;
  };
  meta: {
    key: string;
    value: unknown;
  };
}

/** An open database of this schema. */
export type RecsDatabase = IDBPDatabase<RecsSchema>;

/** Says in words what a read left out as damaged (IndexedDbStore's notes). */
export type NoteSkipped = (note: string) => void;

export type UpgradeTransaction = IDBPTransaction<RecsSchema, StoreNames<RecsSchema>[], 'versionchange'>;
type Migration = (database: RecsDatabase, transaction: UpgradeTransaction) => void;

/**
 * MIGRATIONS[v - 1] upgrades a database from version v - 1 to v. Never edit a shipped step: add one.
 * Each is tested by opening a database written by the previous version, with data in it.
 */
export const MIGRATIONS: readonly Migration[] = [
  // v1: history, embedding cache, meta.
  (database) => {
    const events = database.createObjectStore('events', { keyPath: 'id', autoIncrement: true });
    events.createIndex('by-item', 'itemId');
    events.createIndex('by-time', 'at');
    database.createObjectStore('embeddings', { keyPath: ['modelId', 'chunkId'] });
    database.createObjectStore('meta');
  },
  // v2: personal model weights and settings get stores of their own; history is queryable by kind.
  (database, transaction) => {
    database.createObjectStore('weights', { keyPath: 'name' });
    database.createObjectStore('settings');
    transaction.objectStore('events').createIndex('by-kind', 'kind');
  },
];

export const DB_VERSION = MIGRATIONS.length;
