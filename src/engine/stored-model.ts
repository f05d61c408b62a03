/**
 * The personal model as it lies in IndexedDB's weights store, and how it is read back on a visit: the
 * stored names and version, whether an export file carries a whole model, the checks a stored u and
 * stored shared parameters must pass, and the choice between restoring them and starting afresh (from
 * the publisher's shipped global model or the catalog text).
 *
 * Separate from personal-model.ts, which uses the model once it is open (online steps, fine-tune,
 * export/import): this file holds the stored format and the rules for accepting it, so the format is
 * read in one place and the restore decision can be read without the training code around it.
 */
import type { ParamSet } from '../core/federated/params';
import { HybridModel, PARAM_W } from '../core/model/hybrid';
import { MODEL_FORMAT_VERSION, modelIdFor, PERSONAL_FACTORS } from '../core/model/identity';
import { readShippedGlobal } from '../core/model/shipped-global';
import { firstOutOfRangeWeight, MAX_ABS_WEIGHT } from '../core/limits';
import type { RecsStore, StoredWeight } from '../storage/db';
import { readSetting, SETTING_FINGERPRINT, SETTING_GLOBAL_SOURCE, SETTING_LOSSES, SETTING_MODEL_ID } from './settings-keys';

/** Bump when the layout or meaning of the stored parameters changes: older ones are then rebuilt. */
export const STORED_VERSION = MODEL_FORMAT_VERSION;
export const LOCAL = 'local/';
export const GLOBAL = 'global/';
export const USER = 'user/u';
/** Stored weights derived from others, kept only to save time: never exported or shared. */
export const CACHE_WEIGHT_PREFIX = 'cache/';

/**
 * Whether an export file carries a whole model that PersonalModel.open would restore for this text
 * model and catalog: its settings name them, and it has u and the local and global shared parameters
 * in the current stored version. (Whether the values fit is checked when it is opened.)
 */
export function fileHasModelFor(
  file: { settings: Record<string, unknown>; weights: readonly { name: string; version: number }[] },
  encoderId: string,
  catalogFingerprint: string,
): boolean {
  const current = file.weights.filter((weight) => weight.version === STORED_VERSION);
  return (
    readSetting(file.settings, SETTING_MODEL_ID) === modelIdFor(encoderId) &&
    readSetting(file.settings, SETTING_FINGERPRINT) === catalogFingerprint &&
    current.some((weight) => weight.name === USER) &&
    current.some((weight) => weight.name.startsWith(LOCAL)) &&
    current.some((weight) => weight.name.startsWith(GLOBAL))
  );
}

/** The stored weights (a read in flight) and settings, for PersonalModel.open. */
export interface StoredModelReads {
  weights: Promise<StoredWeight[]>;
  settings: Record<string, unknown>;
}

export function toStored(prefix: string, params: ParamSet): StoredWeight[] {
  return Object.entries(params).map(([name, { shape, values }]) => ({ name: prefix + name, version: STORED_VERSION, shape: [...shape], values }));
}

function fromStored(prefix: string, weights: readonly StoredWeight[]): ParamSet | undefined {
  const params: ParamSet = {};
  for (const weight of weights) {
    if (weight.version === STORED_VERSION && weight.name.startsWith(prefix)) {
      // The arrays are the database's fresh copies: used as they are, not copied again.
      params[weight.name.slice(prefix.length)] = { shape: [...weight.shape], values: weight.values };
    }
  }
  return Object.keys(params).length > 0 ? params : undefined;
}

/**
 * Why the stored taste vector u cannot be used beside the stored shared parameters, or undefined.
 * Missing counts too: saveAll writes u with them, so a model without one was damaged (or its u was
 * skipped as damaged when it was read back, storage/records.ts).
 */
export function describeUserProblem(user: { shape: readonly number[]; values: ArrayLike<number> } | undefined, factors: number): string | undefined {
  if (!user) return 'your taste vector u is missing or damaged';
  if (user.values.length !== factors) return `your taste vector u has ${user.values.length} values, the model ${factors}`;
  const bad = firstOutOfRangeWeight(user.values);
  if (bad < 0) return undefined;
  return Number.isFinite(user.values[bad]!)
    ? `your taste vector u has a value (${user.values[bad]}) beyond ±${MAX_ABS_WEIGHT} at index ${bad}`
    : `your taste vector u has a non-finite value (${user.values[bad]}) at index ${bad}`;
}

export interface StoredModelOptions {
  storage: RecsStore;
  modelId: string;
  itemIds: readonly string[];
  embeddings: Float32Array;
  embeddingDim: number;
  catalogFingerprint: string;
  stored?: StoredModelReads;
  shippedGlobal?: () => Promise<{ bytes: Uint8Array; source: string } | undefined>;
}

/** What PersonalModel.open builds the model from: the stored one restored, or a fresh start (not stored yet). */
export type LoadedModel = { model: HybridModel; user: Float32Array; global: ParamSet; losses: number[]; globalSource: string } & (
  | { restored: true; /** Everything stored, for the caches kept beside the model. */ weights: StoredWeight[] }
  | { restored: false; problem?: string; globalProblem?: string }
);

/**
 * Restores the stored model when it belongs to this model id and catalog and passes its checks;
 * otherwise builds a new one from the shipped global model (when there is one that can be used) or
 * from the embeddings present now (PCA projection). The caller stores a new one.
 */
export async function loadStoredModel(options: StoredModelOptions): Promise<LoadedModel> {
  const { storage, modelId, itemIds, embeddings, embeddingDim, catalogFingerprint } = options;
  const [weights, settings] = await Promise.all([options.stored?.weights ?? storage.listWeights(), options.stored?.settings ?? storage.getSettings()]);
  const sameModel = readSetting(settings, SETTING_MODEL_ID) === modelId && readSetting(settings, SETTING_FINGERPRINT) === catalogFingerprint;
  const local = sameModel ? fromStored(LOCAL, weights) : undefined;
  // A tiny encoder (tests) cannot project onto more directions than it has.
  const factors = Math.min(PERSONAL_FACTORS, embeddingDim);
  const storedW = local?.W?.values.length === factors * embeddingDim ? local.W.values : undefined;
  const global = sameModel ? fromStored(GLOBAL, weights) : undefined;
  const user = sameModel
    ? fromStored(
        '',
        weights.filter((w) => w.name === USER),
      )?.[USER]
    : undefined;
  // Read before the model is built: its W then replaces the PCA (seconds at 10,000 items) rather than following it.
  let globalProblem: string | undefined;
  const readShipped = async () => {
    const read = await readShippedGlobal(options.shippedGlobal!, { modelId, catalogFingerprint, itemCount: itemIds.length, factors, embeddingDim });
    if ('problem' in read) globalProblem = read.problem;
    return 'params' in read ? read : undefined;
  };
  let shipped = options.shippedGlobal && !(local && global && user?.values.length === factors) ? await readShipped() : undefined;
  const initialW = storedW ?? shipped?.params[PARAM_W]!.values;
  const model = new HybridModel({ itemIds, embeddings, embeddingDim, factors, ...(initialW ? { W: initialW } : {}) });
  const losses = readSetting(settings, SETTING_LOSSES) ?? [];
  const globalSource = readSetting(settings, SETTING_GLOBAL_SOURCE) ?? 'built on this device from the catalog text';
  let problem: string | undefined;
  // u is checked like the shared parameters: a stored u of NaN gave an empty feed on every visit.
  const userProblem = local || global ? describeUserProblem(user, factors) : undefined;
  if (userProblem) problem = userProblem;
  else if (local && global && user?.values.length === factors) {
    problem = model.checkParams(local) ?? model.checkParams(global) ?? undefined;
    if (!problem) {
      model.setParams(local);
      return { restored: true, model, user: Float32Array.from(user.values), global, losses, globalSource, weights };
    }
  }
  // A stored model that failed its checks: the shipped one was not read above.
  if (problem && options.shippedGlobal && !shipped && globalProblem === undefined) shipped = await readShipped();
  if (shipped) {
    const refused = model.checkParams(shipped.params);
    if (refused) {
      globalProblem = `${shipped.source}: ${refused}`;
      shipped = undefined;
    } else {
      model.setParams(shipped.params);
    }
  }
  // A new model from the shipped global model, or from text alone: its initial parameters are also the global model it starts from.
  return {
    restored: false,
    model,
    user: model.newUserVector(),
    global: model.getParams(),
    losses: [],
    globalSource: shipped?.description ?? 'built on this device from the catalog text',
    ...(problem ? { problem } : {}),
    ...(globalProblem ? { globalProblem } : {}),
  };
}
