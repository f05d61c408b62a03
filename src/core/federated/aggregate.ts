/**
 * Server-side (or publisher-side) aggregation of user deltas into the next global model.
 *
 * FedAvg: global' = global + Σ w_k Δ_k / Σ w_k. Each Δ_k already carries its own noise, so the
 * average is as private as its least private input; averaging only reduces the noise's variance.
 *
 * Trimmed mean (Yin et al. 2018, "Byzantine-robust distributed learning"): for every coordinate
 * separately, drop the ⌊β·n⌋ largest and smallest values and average the rest. It ignores the
 * claimed weights on purpose: a poisoned file can claim any weight, and the point of the robust
 * option is that no single file can move the result by much.
 */
import { assertCompatible, ModelFileError, type GlobalInfo, type ModelFile } from './format';
import { paramNames, zerosOf, type ParamSet } from './params';

export type AggregationMethod = 'fedavg' | 'trimmed-mean';

export interface WeightedDelta {
  weight: number;
  params: ParamSet;
}

/** global + Σ w_k Δ_k / Σ w_k, accumulated in float64. Layouts must already match the global one. */
export function fedAvg(global: ParamSet, deltas: readonly WeightedDelta[]): ParamSet {
  if (deltas.length === 0) throw new RangeError('nothing to aggregate: no deltas');
  const total = deltas.reduce((sum, d) => sum + d.weight, 0);
  if (!(total > 0 && Number.isFinite(total))) throw new RangeError('the delta weights must be positive and finite');
  const out: ParamSet = {};
  for (const name of paramNames(global)) {
    const base = global[name]!;
    const sum = new Float64Array(base.values.length);
    for (const { weight, params } of deltas) {
      const values = params[name]!.values;
      for (let i = 0; i < sum.length; i++) sum[i]! += weight * values[i]!;
    }
    const values = new Float32Array(sum.length);
    for (let i = 0; i < sum.length; i++) values[i] = base.values[i]! + sum[i]! / total;
    out[name] = { shape: [...base.shape], values };
  }
  return out;
}

/** How many values a trim fraction β drops from each end among n. */
export function trimCount(n: number, trim: number): number {
  return Math.floor(trim * n);
}

/** global + coordinate-wise β-trimmed mean of the deltas (weights ignored, see the module comment). */
export function trimmedMean(global: ParamSet, deltas: readonly ParamSet[], trim: number): ParamSet {
  if (!(trim >= 0 && trim < 0.5)) throw new RangeError(`the trim fraction must be in [0, 0.5) (got ${trim})`);
  const n = deltas.length;
  if (n === 0) throw new RangeError('nothing to aggregate: no deltas');
  const cut = trimCount(n, trim);
  const kept = n - 2 * cut;
  const column = new Float32Array(n);
  const out: ParamSet = {};
  for (const name of paramNames(global)) {
    const base = global[name]!;
    const sources = deltas.map((d) => d[name]!.values);
    const values = new Float32Array(base.values.length);
    for (let i = 0; i < values.length; i++) {
      for (let k = 0; k < n; k++) column[k] = sources[k]![i]!;
      column.sort(); // typed arrays sort numerically
      let sum = 0;
      for (let k = cut; k < n - cut; k++) sum += column[k]!;
      values[i] = base.values[i]! + sum / kept;
    }
    out[name] = { shape: [...base.shape], values };
  }
  return out;
}

export interface NamedModelFile {
  /** A file name, used in every error message. */
  name: string;
  file: ModelFile;
}

export interface AggregateOptions {
  method?: AggregationMethod;
  /** β for the trimmed mean: the fraction dropped at each end (default 0.1). */
  trim?: number;
}

export interface AggregateResult {
  info: GlobalInfo;
  params: ParamSet;
  contributors: number;
  totalWeight: number;
  /** Values trimmed at each end per coordinate (0 for FedAvg). */
  trimmed: number;
}

/**
 * Checks that every delta matches the global model (or, without one, the first delta) in model id,
 * catalog fingerprint and dimensions, and was computed against this global model when it says
 * which one it used; then aggregates. `global` null means "start from zeros".
 */
export function aggregateModelFiles(global: NamedModelFile | null, deltas: readonly NamedModelFile[], options: AggregateOptions = {}): AggregateResult {
  const method = options.method ?? 'fedavg';
  const trim = options.trim ?? 0.1;
  if (deltas.length === 0) throw new ModelFileError('nothing to aggregate: no delta files');
  if (global && global.file.header.kind !== 'global') throw new ModelFileError(`${global.name}: is a ${global.file.header.kind} file, not a global model`);
  for (const d of deltas) {
    if (d.file.header.kind !== 'delta') throw new ModelFileError(`${d.name}: is a ${d.file.header.kind} model, not a delta`);
  }
  const reference = global ?? deltas[0]!;
  for (const d of deltas) {
    if (d === reference) continue;
    assertCompatible(reference.file.header, reference.name, d.file.header, d.name);
  }
  if (global) {
    for (const d of deltas) {
      const header = d.file.header;
      if (header.kind === 'delta' && header.baseSha256 && header.baseSha256 !== global.file.header.payloadSha256) {
        throw new ModelFileError(
          `${d.name}: was computed against a different global model than ${global.name} (base checksum ${header.baseSha256.slice(0, 12)}…)`,
        );
      }
    }
  }
  const base = global ? global.file.params : zerosOf(reference.file.header.params);
  const weights = deltas.map((d) => (d.file.header.kind === 'delta' ? d.file.header.weight : 0));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  let params: ParamSet;
  let trimmed = 0;
  if (method === 'fedavg') {
    params = fedAvg(
      base,
      deltas.map((d, k) => ({ weight: weights[k]!, params: d.file.params })),
    );
  } else {
    trimmed = trimCount(deltas.length, trim);
    params = trimmedMean(
      base,
      deltas.map((d) => d.file.params),
      trim,
    );
  }
  const { modelId, catalogFingerprint } = reference.file.header;
  return {
    info: { kind: 'global', modelId, catalogFingerprint, contributors: deltas.length, aggregation: method },
    params,
    contributors: deltas.length,
    totalWeight,
    trimmed,
  };
}
