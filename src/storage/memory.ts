/**
 * A store that lives only as long as the page: the same interface as the IndexedDB one (RecsStore),
 * for browsers that refuse IndexedDB (third-party storage blocked in a cross-site iframe, private
 * modes, a policy), or that lose it while the page is open (quota, eviction). The feed works the same
 * from it; nothing in it outlives the visit. Vectors are kept as the database keeps them (int8, one
 * scale per row), so a feed ranks exactly as it would from IndexedDB.
 */
import type { FeedbackEvent } from '../core/events';
import { eventKey } from '../core/export-format';
import {
  CachedVectors,
  type EmbeddingChunk,
  type ImportedData,
  type ListedEvents,
  type RecsStore,
  type SettingValue,
  type StoredSettings,
  type StoreSizes,
  type StoreUsage,
  type StoredEmbedding,
  type StoredEvent,
  type StoredWeight,
} from './db';
import { chunkOfBatch } from './store';

/** What a memory store starts from: the records a failing database could still give, or the engine's own copy. */
export interface MemorySeed {
  events?: readonly StoredEvent[];
  weights?: readonly StoredWeight[];
  settings?: Readonly<StoredSettings>;
}

export class MemoryStorage implements RecsStore {
  private readonly events: StoredEvent[] = [];
  private nextId = 1;
  /** Chunks by model id, then by chunk id (the database's key). */
  private readonly embeddings = new Map<string, Map<string, EmbeddingChunk>>();
  private readonly weights = new Map<string, StoredWeight>();
  private readonly settings = new Map<string, SettingValue>();

  constructor(seed: MemorySeed = {}) {
    // Ids go on from the highest seen: an event keeps its id when the store under it changes.
    for (const event of [...(seed.events ?? [])].sort((a, b) => a.id - b.id)) {
      this.events.push({ kind: event.kind, itemId: event.itemId, at: event.at, id: event.id });
      this.nextId = Math.max(this.nextId, event.id + 1);
    }
    for (const weight of seed.weights ?? []) this.weights.set(weight.name, weight);
    for (const [name, value] of Object.entries(seed.settings ?? {})) this.settings.set(name, value);
  }

  async appendEvent(event: FeedbackEvent): Promise<StoredEvent> {
    const stored: StoredEvent = { kind: event.kind, itemId: event.itemId, at: event.at, id: this.nextId++ };
    this.events.push(stored);
    return { ...stored };
  }

  async listEvents(): Promise<ListedEvents> {
    return { events: this.events.map((event) => ({ ...event })), skipped: 0 };
  }

  async deleteEvents(ids: readonly number[]): Promise<void> {
    const doomed = new Set(ids);
    this.keepEvents((event) => !doomed.has(event.id));
  }

  async deleteEventsBetween(from: number, to: number): Promise<number> {
    const before = this.events.length;
    this.keepEvents((event) => event.at < from || event.at > to);
    return before - this.events.length;
  }

  async importData(data: ImportedData): Promise<number> {
    const existing = new Set(this.events.map(eventKey));
    let added = 0;
    for (const event of [...data.events].sort((a, b) => a.at - b.at)) {
      const key = eventKey(event);
      if (existing.has(key)) continue;
      existing.add(key);
      this.events.push({ kind: event.kind, itemId: event.itemId, at: event.at, id: this.nextId++ });
      added++;
    }
    for (const weight of data.weights) this.weights.set(weight.name, weight);
    for (const [name, value] of Object.entries(data.settings)) this.settings.set(name, value);
    return added;
  }

  async getEmbeddings(modelId: string, hashes?: readonly string[]): Promise<Map<string, Float32Array>> {
    const table = await this.readEmbeddings(modelId);
    const found = new Map<string, Float32Array>();
    for (const hash of hashes ?? table.hashes()) {
      const vector = table.get(hash);
      if (vector) found.set(hash, vector);
    }
    return found;
  }

  async readEmbeddings(modelId: string): Promise<CachedVectors> {
    // In key order, as IndexedDB reads them: a text cached twice resolves the same way.
    const chunks = [...(this.embeddings.get(modelId)?.values() ?? [])].sort((a, b) => (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0));
    return new CachedVectors(chunks);
  }

  async putEmbeddings(records: readonly StoredEmbedding[]): Promise<void> {
    const chunk = chunkOfBatch(records);
    if (!chunk) return;
    const chunks = this.embeddings.get(chunk.modelId) ?? new Map<string, EmbeddingChunk>();
    chunks.set(chunk.chunkId, chunk);
    this.embeddings.set(chunk.modelId, chunks);
  }

  /** Nothing to merge for speed in memory: the records stay as they are. */
  async compactEmbeddings(modelId: string): Promise<{ before: number; after: number }> {
    const count = this.embeddings.get(modelId)?.size ?? 0;
    return { before: count, after: count };
  }

  async embeddingUsageByModel(): Promise<Map<string, StoreUsage>> {
    const usage = new Map<string, StoreUsage>();
    for (const [modelId, chunks] of this.embeddings) {
      const entry = { count: 0, bytes: 0 };
      for (const chunk of chunks.values()) {
        entry.count += chunk.textHashes.length;
        entry.bytes += chunkBytes(chunk);
      }
      if (entry.count > 0) usage.set(modelId, entry);
    }
    return usage;
  }

  async deleteEmbeddingsOf(modelIds: readonly string[]): Promise<StoreUsage> {
    const freed = { count: 0, bytes: 0 };
    for (const modelId of modelIds) {
      for (const chunk of this.embeddings.get(modelId)?.values() ?? []) {
        freed.count += chunk.textHashes.length;
        freed.bytes += chunkBytes(chunk);
      }
      this.embeddings.delete(modelId);
    }
    return freed;
  }

  async clearEmbeddings(): Promise<void> {
    this.embeddings.clear();
  }

  async listWeights(): Promise<StoredWeight[]> {
    return [...this.weights.values()];
  }

  async putWeight(weight: StoredWeight): Promise<void> {
    this.weights.set(weight.name, weight);
  }

  async putWeights(weights: readonly StoredWeight[]): Promise<void> {
    for (const weight of weights) this.weights.set(weight.name, weight);
  }

  async putSettings(values: Readonly<StoredSettings>): Promise<void> {
    for (const [name, value] of Object.entries(values)) this.settings.set(name, value);
  }

  async getSettings(): Promise<StoredSettings> {
    return Object.fromEntries(this.settings);
  }

  async putSetting(name: string, value: SettingValue): Promise<void> {
    this.settings.set(name, value);
  }

  async sizes(): Promise<StoreSizes> {
    const chunks = [...this.embeddings.values()].flatMap((byId) => [...byId.values()]);
    const jsonBytes = (values: unknown[]) => values.reduce<number>((sum, value) => sum + (JSON.stringify(value ?? null) ?? '').length, 0);
    return {
      events: { count: this.events.length, bytes: jsonBytes(this.events) },
      embeddings: { count: chunks.reduce((sum, c) => sum + c.textHashes.length, 0), bytes: chunks.reduce((sum, c) => sum + chunkBytes(c), 0) },
      weights: { count: this.weights.size, bytes: [...this.weights.values()].reduce((sum, w) => sum + w.values.byteLength, 0) },
      settings: { count: this.settings.size, bytes: jsonBytes([...this.settings.values()]) },
    };
  }

  /** Nothing to release: the records go with the page. */
  close(): void {}

  private keepEvents(keep: (event: StoredEvent) => boolean): void {
    const kept = this.events.filter(keep);
    this.events.splice(0, this.events.length, ...kept);
  }
}

function chunkBytes(chunk: EmbeddingChunk): number {
  return chunk.codes.byteLength + chunk.scales.byteLength + chunk.textHashes.length * 16;
}
