/**
 * What a model belongs to, as the app and the CLI must both spell it: a stored, exported or imported
 * model is only used with the same encoder, factor count and catalog (its item ids, in order).
 */
import { textHash } from '../hash';

/** Factors of the on-device model (d in v_i = W·e_i + q_i). */
export const PERSONAL_FACTORS = 32;
/** Bumped when the meaning of the stored parameters changes. */
export const MODEL_FORMAT_VERSION = 1;

export function modelIdFor(encoderId: string, factors = PERSONAL_FACTORS): string {
  return `hybrid-${encoderId}-d${factors}@${MODEL_FORMAT_VERSION}`;
}

/** The catalog a model's rows belong to: a hash of the item ids in catalog order. */
export function catalogFingerprint(itemIds: readonly string[]): string {
  return textHash(itemIds.join('\n'));
}
