/** What the database holds, per store: records and about how many bytes (the Privacy panel's table). */
import { checkEmbeddingChunk, checkSettings, isValidEventRecord, isValidWeightRecord } from '../records';
import type { StoreSizes, StoreUsage } from '../store';
import { chunkBytes, jsonLength, weightBytes } from './bytes';
import type { RecsDatabase } from './schema';
import { settled } from './settled';

/** Record counts and approximate sizes per store (values measured as stored, keys ignored). */
export async function storeSizes(db: RecsDatabase): Promise<StoreSizes> {
  const tx = settled(db.transaction(['events', 'embeddings', 'weights', 'settings']));
  const [events, chunks, weights, settings, settingKeys] = await Promise.all([
    tx.objectStore('events').getAll(),
    tx.objectStore('embeddings').getAll(),
    tx.objectStore('weights').getAll(),
    tx.objectStore('settings').getAll(),
    tx.objectStore('settings').getAllKeys(),
  ]);
  await tx.done;
  // Every record is measured, damaged ones too (they take space); only those that pass the reads'
  // checks (storage/records.ts) are counted, as the reads count them. Nothing here may throw on a
  // damaged record: the Privacy panel's table is how a user sees what is stored.
  const jsonBytes = (values: unknown[]) => values.reduce<number>((sum, value) => sum + jsonLength(value), 0);
  const validChunks = chunks.map((chunk) => checkEmbeddingChunk(chunk).chunk).filter((chunk) => chunk !== undefined);
  const validEvents = events.filter(isValidEventRecord).length;
  const validWeights = (weights as unknown[]).filter((weight) => isValidWeightRecord(weight)).length;
  const settingsKept = Object.keys(checkSettings(settingKeys, settings).settings).length;
  return {
    events: withInvalid(validEvents, jsonBytes(events), events.length),
    embeddings: withInvalid(
      validChunks.reduce((sum, c) => sum + c.textHashes.length, 0),
      chunks.reduce((sum, c) => sum + chunkBytes(c), 0),
      chunks.length,
      validChunks.length,
    ),
    weights: withInvalid(
      validWeights,
      (weights as unknown[]).reduce<number>((sum, w) => sum + weightBytes(w), 0),
      weights.length,
    ),
    settings: withInvalid(settingsKept, jsonBytes(settings), settings.length),
  };
}

function withInvalid(count: number, bytes: number, records: number, validRecords = count): StoreUsage {
  const invalid = records - validRecords;
  return invalid > 0 ? { count, bytes, invalid } : { count, bytes };
}
