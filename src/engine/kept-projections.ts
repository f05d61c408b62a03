/**
 * W·e_i for every item, kept in the weights store across visits so that a returning visit ranks
 * without computing them again (1.3 MB at 10,000 items, d = 32). The stored record's `key` names the
 * embeddings and the W it was computed from; under any other key it is computed again.
 *
 * Separate from personal-model.ts: it is a cache derived from the model, with its own key and its own
 * write-behind, and none of it is part of what the model learns or shares.
 */
import { floatsHash } from '../core/hash';
import type { HybridModel } from '../core/model/hybrid';
import type { RecsStore, StoredWeight } from '../storage/db';
import { CACHE_WEIGHT_PREFIX, STORED_VERSION } from './stored-model';

export const PROJECTIONS_CACHE = `${CACHE_WEIGHT_PREFIX}projections`;

export class KeptProjections {
  /** The projections last stored (or restored), the embeddings' key then, and their full key. */
  private stored: { values: Float32Array; projectionsKey: string; key: string } | undefined;

  /**
   * `projectionsKey` names the embedding matrix when every row is filled (see PersonalModel.open);
   * undefined: nothing to keep.
   */
  constructor(
    private readonly storage: RecsStore,
    private readonly model: HybridModel,
    private projectionsKey: string | undefined,
  ) {}

  /** The embedding matrix is complete (a key naming it) or not (undefined). */
  setProjectionsKey(key: string | undefined): void {
    this.projectionsKey = key;
    this.keep();
  }

  private fullKey(): string | undefined {
    return this.projectionsKey === undefined ? undefined : `${STORED_VERSION}:${this.projectionsKey}:${this.model.factors}:${floatsHash(this.model.W)}`;
  }

  /** Takes the stored projections when they were computed for these embeddings and this W. */
  restore(stored: StoredWeight | undefined): void {
    const key = this.fullKey();
    if (!stored || key === undefined || stored.key !== key || stored.values.length !== this.model.itemCount * this.model.factors) return;
    this.model.restoreProjections(stored.values);
    this.stored = { values: stored.values, projectionsKey: this.projectionsKey!, key };
  }

  /**
   * Stores W·e_i when they were computed for a W or embeddings not stored yet (after the first
   * preparation, a new global model, or the catalog's last vectors), written after the rank that
   * computed them. A failed write only costs the next visit the computation.
   */
  keep(): void {
    const values = this.model.projectionsIfReady();
    if (!values || this.projectionsKey === undefined) return;
    const projectionsKey = this.projectionsKey;
    // Recomputed projections are a new array; the same array for the same embeddings is stored already.
    if (this.stored?.values === values && this.stored.projectionsKey === projectionsKey) return;
    const key = this.fullKey()!;
    const storedAlready = this.stored?.key === key;
    this.stored = { values, projectionsKey, key };
    if (storedAlready) return;
    const weight: StoredWeight = { name: PROJECTIONS_CACHE, version: STORED_VERSION, shape: [this.model.itemCount, this.model.factors], values, key };
    setTimeout(() => void this.storage.putWeights([weight]).catch(() => (this.stored = undefined)), 0);
  }
}
