/**
 * An ensemble of hybrid models as one hybrid model. For members k with weights λ_k,
 *   Σ_k λ_k (u_k·v_ik + b_ik) = [λ_1 u_1, …, λ_K u_K]·[v_i1, …, v_iK] + Σ_k λ_k b_ik
 * and v_ik = W_k·e_i + q_ik stacks as W = [W_1; …; W_K] (rows), q_i = [q_i1, …, q_iK]: the blend of K
 * models of d factors each is a HybridModel of K·d factors, scored by the same scoreAll (one matVec),
 * with the user vector the members' user vectors concatenated and scaled (concatUsers). For members
 * whose user vector is encoded from the history (userFromHistory with the same α), the concatenated,
 * scaled encoder tables give the concatenated user vector, so the ensemble is again one such model.
 */
import { HybridModel } from './hybrid';

export interface EnsembleMember {
  model: HybridModel;
  /** λ_k (default 1). */
  weight?: number;
}

/** One HybridModel whose scores are Σ_k λ_k · member k's scores, for user vectors from concatUsers. */
export function concatModels(members: readonly EnsembleMember[]): HybridModel {
  if (members.length === 0) throw new RangeError('an ensemble needs at least one member');
  const first = members[0]!.model;
  const { itemCount: n, embeddingDim: D } = first;
  for (const { model } of members) {
    if (model.itemCount !== n || model.embeddingDim !== D || model.embeddings !== first.embeddings) {
      throw new RangeError('ensemble members must share the catalog and its embeddings');
    }
  }
  const d = members.reduce((sum, { model }) => sum + model.factors, 0);
  const W = new Float32Array(d * D);
  const q = new Float32Array(n * d);
  const b = new Float32Array(n);
  let offset = 0;
  for (const { model, weight = 1 } of members) {
    const dk = model.factors;
    W.set(model.W, offset * D);
    for (let i = 0; i < n; i++) {
      q.set(model.q.subarray(i * dk, (i + 1) * dk), i * d + offset);
      b[i]! += weight * model.b[i]!;
    }
    offset += dk;
  }
  const out = new HybridModel({ itemIds: first.itemIds, embeddings: first.embeddings, embeddingDim: D, factors: d, W });
  out.q = q;
  out.b = b;
  out.invalidate();
  return out;
}

/**
 * Rows of several userCount×d_k tables concatenated and scaled by the members' weights:
 * userCount×Σd_k, row u = [λ_1 u_1, …, λ_K u_K]. Also the encoder tables of history-encoded members
 * (itemCount×d_k y tables): userFromHistory over the result is then the concatenated user vector.
 */
export function concatUsers(tables: readonly { vectors: Float32Array; factors: number; weight?: number }[], rows: number): Float32Array {
  const d = tables.reduce((sum, t) => sum + t.factors, 0);
  const out = new Float32Array(rows * d);
  let offset = 0;
  for (const { vectors, factors: dk, weight = 1 } of tables) {
    if (vectors.length !== rows * dk) throw new RangeError(`a table has ${vectors.length} values, expected ${rows}×${dk}`);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < dk; f++) out[r * d + offset + f] = weight * vectors[r * dk + f]!;
    }
    offset += dk;
  }
  return out;
}
