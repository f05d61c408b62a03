/**
 * A publisher's global model that lists its rows by id (the head, core/model/shipped-head.ts), for the
 * scale path's tests (engine/engine-scale-model.test.ts, e2e/scale-engine.spec.ts): written by the same
 * writer `npm run train-global` uses (encodeShippedGlobal with the ids), its W random but fixed, and its
 * q_i made so that the model's ranking shows: each pair (a, b) of `partners` shares one residual, long
 * beside W·e_i, and every other head row has q_i = 0. After a like of a, u moves toward v_a, so b (which
 * the text would not bring: another topic, little read) scores far above the rest. Imports core only (the
 * e2e spec builds it in Node).
 */
import { PARAM_B, PARAM_Q, PARAM_RANKER_BIAS, PARAM_RANKER_WEIGHTS, PARAM_W } from '../../core/model/hybrid';
import { modelIdFor, PERSONAL_FACTORS } from '../../core/model/identity';
import { defaultRankerWeights, RANKER_FEATURE_COUNT } from '../../core/model/ranker';
import { encodeShippedGlobal } from '../../core/model/shipped-global';
import { gaussianSource, seededUniform } from '../../core/random';

export interface HeadFixtureOptions {
  /** The text encoder's id and dimension (the file's model id is modelIdFor(encoderId)). */
  encoderId: string;
  embeddingDim: number;
  /** The head's ids (pairs' ids are added when missing). */
  ids: readonly string[];
  partners: readonly (readonly [string, string])[];
  /** ‖q‖ of a pair's shared residual (‖W·e_i‖ is about 1). */
  residual?: number;
  seed?: number;
}

export async function partnerHeadFile(options: HeadFixtureOptions): Promise<Uint8Array<ArrayBuffer>> {
  const d = Math.min(PERSONAL_FACTORS, options.embeddingDim);
  const D = options.embeddingDim;
  const normal = gaussianSource(seededUniform(options.seed ?? 11));
  const ids = [...new Set([...options.ids, ...options.partners.flat()])];
  const row = new Map(ids.map((id, r) => [id, r]));
  // ‖W·e‖ ≈ 1 for a unit e: each of its d entries has variance 1/d.
  const W = Float32Array.from({ length: d * D }, () => normal() / Math.sqrt(d));
  const q = new Float32Array(ids.length * d);
  const length = options.residual ?? 3;
  for (const [a, b] of options.partners) {
    const shared = Float32Array.from({ length: d }, () => normal());
    const norm = Math.hypot(...shared);
    for (const id of [a, b])
      q.set(
        shared.map((x) => (length * x) / norm),
        row.get(id)! * d,
      );
  }
  const params = {
    [PARAM_W]: { shape: [d, D], values: W },
    [PARAM_Q]: { shape: [ids.length, d], values: q },
    [PARAM_B]: { shape: [ids.length], values: new Float32Array(ids.length) },
    [PARAM_RANKER_WEIGHTS]: { shape: [RANKER_FEATURE_COUNT], values: defaultRankerWeights() },
    [PARAM_RANKER_BIAS]: { shape: [1], values: Float32Array.of(0) },
  };
  const info = { modelId: modelIdFor(options.encoderId), catalogFingerprint: 'the publisher', readers: 100, description: 'trained on 100 test readers' };
  return encodeShippedGlobal(info, params, ids);
}
