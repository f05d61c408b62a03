/**
 * The asymmetric model's user vector, computed from a history with a trained history encoder (no free
 * user vector on the device: u follows from the events). Plain arrays, no TF.js.
 */
import type { HistoryEncoder } from './train-options';

/**
 * u = (Σ w_j)^−α · Σ w_j · y_j over a history (items and their weights; repeated items count each
 * time), with y = `vectors` (itemCount×d): the asymmetric model's user vector. Zero for no history.
 */
export function userFromHistory(vectors: Float32Array, d: number, items: ArrayLike<number>, weights: ArrayLike<number>, alpha: number): Float32Array {
  const u = new Float32Array(d);
  let total = 0;
  for (let j = 0; j < items.length; j++) {
    const w = weights[j]!;
    if (!(w > 0)) continue;
    total += w;
    const row = items[j]! * d;
    for (let f = 0; f < d; f++) u[f]! += w * vectors[row + f]!;
  }
  if (total > 0) {
    const scale = Math.pow(total, -alpha);
    for (let f = 0; f < d; f++) u[f]! *= scale;
  }
  return u;
}

/**
 * The asymmetric model's user vector for a history (items and their weights) with a trained encoder:
 * userFromHistory over its y table, through the hidden layer when it has one (u = M·tanh(h + c)).
 */
export function encodeUser(encoder: HistoryEncoder, d: number, items: ArrayLike<number>, weights: ArrayLike<number>): Float32Array {
  if (!encoder.hidden) return userFromHistory(encoder.vectors, d, items, weights, encoder.alpha);
  const { size: H, M, c } = encoder.hidden;
  const h = userFromHistory(encoder.vectors, H, items, weights, encoder.alpha);
  for (let j = 0; j < H; j++) h[j] = Math.tanh(h[j]! + c[j]!);
  const u = new Float32Array(d);
  for (let f = 0; f < d; f++) {
    let sum = 0;
    for (let j = 0; j < H; j++) sum += M[f * H + j]! * h[j]!;
    u[f] = sum;
  }
  return u;
}
