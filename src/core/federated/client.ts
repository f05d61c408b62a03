/**
 * The device's side of federated learning, without storage or UI: what an export would contain and
 * cost in privacy (shown to the user before anything is written), the export file itself, and the
 * checks an imported global model must pass before it replaces the current one.
 */
import { decodeModelFile, encodeModelFile, ModelFileError, sha256Hex } from './format';
import { privatizeDelta } from './delta';
import { layoutMismatch, layoutOf, paramNames, zerosLike, type ParamSet } from './params';
import type { Uniform } from '../random';
import { checkBudget, exportsRemaining, type FederatedSettings } from './settings';
import { firstOutOfRangeWeight, MAX_ABS_WEIGHT } from '../limits';

/** The shared parameters as the device holds them: its locally trained copy and the global model it started from. */
export interface SharedModelState {
  modelId: string;
  catalogFingerprint: string;
  /** Shared parameters after local training (W, q, b, ranker): never the user vector. */
  local: ParamSet;
  /** The global model the local copy started from. */
  global: ParamSet;
}

export interface ExportPlan {
  /** Exact size of the file that would be written. */
  sizeBytes: number;
  /** Parameter names and shapes, for "what the file contains". */
  contents: { name: string; shape: number[] }[];
  clipNorm: number;
  noiseMultiplier: number;
  delta: number;
  /** ε spent by earlier exports, ε after this one, and the lifetime budget. */
  epsilonSpent: number;
  epsilonAfter: number;
  epsilonBudget: number;
  /** Exports still possible after this one with the current settings. */
  exportsLeftAfter: number;
  allowed: boolean;
}

function deltaInfo(state: SharedModelState, settings: FederatedSettings, epsilonAfter: number, baseSha256: string) {
  return {
    kind: 'delta' as const,
    modelId: state.modelId,
    catalogFingerprint: state.catalogFingerprint,
    clipNorm: settings.clipNorm,
    noiseMultiplier: settings.noiseMultiplier,
    epsilonSpent: epsilonAfter,
    delta: settings.delta,
    // Uniform weighting: a per-user example count would itself reveal how active the user is.
    weight: 1,
    baseSha256,
  };
}

async function globalSha256(global: ParamSet): Promise<string> {
  const names = paramNames(global);
  const total = names.reduce((sum, name) => sum + global[name]!.values.length, 0);
  const flat = new Float32Array(total);
  let offset = 0;
  for (const name of names) {
    flat.set(global[name]!.values, offset);
    offset += global[name]!.values.length;
  }
  return sha256Hex(new Uint8Array(flat.buffer));
}

/** Everything the consent dialog shows, computed without drawing any noise. */
export async function planExport(state: SharedModelState, settings: FederatedSettings, pastMultipliers: readonly number[]): Promise<ExportPlan> {
  const budget = checkBudget(settings, pastMultipliers);
  // The file's size does not depend on the values: encode zeros of the same layout to measure it exactly.
  const sample = await encodeModelFile(deltaInfo(state, settings, budget.after, '0'.repeat(64)), zerosLike(state.local));
  return {
    sizeBytes: sample.length,
    contents: layoutOf(state.local).map(({ name, shape }) => ({ name, shape: [...shape] })),
    clipNorm: settings.clipNorm,
    noiseMultiplier: settings.noiseMultiplier,
    delta: settings.delta,
    epsilonSpent: budget.spent,
    epsilonAfter: budget.after,
    epsilonBudget: settings.epsilonBudget,
    exportsLeftAfter: budget.allowed ? exportsRemaining(settings, [...pastMultipliers, settings.noiseMultiplier]) : 0,
    allowed: budget.allowed,
  };
}

/**
 * The export file: Δ = local − global, clipped to C, Gaussian noise σ·C on every coordinate. Refuses
 * when the budget would be exceeded. The caller records `noiseMultiplier` only after the user has the file.
 */
export async function buildExport(
  state: SharedModelState,
  settings: FederatedSettings,
  pastMultipliers: readonly number[],
  uniform?: Uniform,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; epsilonAfter: number }> {
  const budget = checkBudget(settings, pastMultipliers);
  if (!budget.allowed) {
    throw new Error(
      `This export would bring your privacy loss to ε = ${budget.after.toFixed(2)}, over your budget of ${settings.epsilonBudget}. Nothing was exported.`,
    );
  }
  const { delta } = privatizeDelta(state.local, state.global, {
    clipNorm: settings.clipNorm,
    noiseMultiplier: settings.noiseMultiplier,
    clipShares: settings.clipShares,
    uniform,
  });
  const bytes = await encodeModelFile(deltaInfo(state, settings, budget.after, await globalSha256(state.global)), delta);
  return { bytes, epsilonAfter: budget.after };
}

/**
 * Reads a global model file for this catalog and model: refuses deltas, another model or catalog, and
 * any layout other than `expected` (naming the mismatch). NaN/Inf, truncation and checksums are
 * checked by the decoder. Throws ModelFileError; nothing is changed by a refused file.
 */
export async function readGlobalModel(
  bytes: Uint8Array,
  expected: { modelId: string; catalogFingerprint: string; params: ParamSet },
  source = 'the model file',
): Promise<ParamSet> {
  const { header, params } = await decodeModelFile(bytes, source);
  if (header.kind !== 'global') {
    throw new ModelFileError(`${source}: this is one person's model update (a delta), not an aggregated global model`);
  }
  if (header.modelId !== expected.modelId) {
    throw new ModelFileError(`${source}: it is for model '${header.modelId}', but this app runs '${expected.modelId}'`);
  }
  if (header.catalogFingerprint !== expected.catalogFingerprint) {
    throw new ModelFileError(
      `${source}: it was trained for another catalog (fingerprint ${header.catalogFingerprint}, this one is ${expected.catalogFingerprint})`,
    );
  }
  const mismatch = layoutMismatch(layoutOf(expected.params), layoutOf(params));
  if (mismatch) throw new ModelFileError(`${source}: its parameters do not fit this catalog and model: ${mismatch}`);
  // Finite is not enough: at ±3e38 every score overflows to ±Infinity and the feed is empty (core/limits.ts).
  for (const [name, { values }] of Object.entries(params)) {
    const bad = firstOutOfRangeWeight(values);
    if (bad >= 0)
      throw new ModelFileError(
        `${source}: parameter '${name}' has a value (${values[bad]}) beyond ±${MAX_ABS_WEIGHT} at index ${bad}, so its scores would overflow`,
      );
  }
  return params;
}
