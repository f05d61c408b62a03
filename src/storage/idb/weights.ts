/** The personal model's parameters in IndexedDB, by name. */
import { isValidWeightRecord } from '../records';
import type { StoredWeight } from '../store';
import type { NoteSkipped, RecsDatabase } from './schema';
import { settled } from './settled';

/** The stored weights that pass their check (storage/records.ts); the rest are skipped and noted. */
export async function listWeights(db: RecsDatabase, note: NoteSkipped): Promise<StoredWeight[]> {
  const all: unknown[] = await settled(db.transaction('weights')).store.getAll();
  const weights = all.filter((value) => isValidWeightRecord(value)) as StoredWeight[];
  const skipped = all.length - weights.length;
  if (skipped > 0) note(`${skipped} stored model ${skipped === 1 ? 'parameter was' : 'parameters were'} damaged and ignored`);
  return weights;
}

export async function putWeight(db: RecsDatabase, weight: StoredWeight): Promise<void> {
  await db.put('weights', weight);
}

/** Writes several weights in one transaction: a model is never stored half old, half new. */
export async function putWeights(db: RecsDatabase, weights: readonly StoredWeight[]): Promise<void> {
  const tx = settled(db.transaction('weights', 'readwrite'));
  await Promise.all([...weights.map((weight) => tx.store.put(weight)), tx.done]);
}
