/**
 * The settings the engine writes, in one place: each key with its value's type (Settings) and the check a
 * stored value passes when read (readSetting). The store keeps any flat value under any name (an import
 * brings what another version wrote), so a value read is checked, never cast.
 *
 * Plain checks rather than zod: a damaged list keeps its valid entries (the records of noise spent must
 * never lose a round, or ε would be undercounted), which a schema of the whole list would drop. The
 * federated export's settings are checked here for their type, and their ranges by the schema they feed
 * (privacy-settings.ts), all together: one invalid value means every default.
 */
import type { FederatedSettings } from '../core/federated/settings';

/** The user's choice of text model. */
export const SETTING_ENCODER_ID = 'encoder.id';
/** What the stored model belongs to (its id names the text model) and the catalog it was trained on. */
export const SETTING_MODEL_ID = 'model.id';
export const SETTING_FINGERPRINT = 'model.catalogFingerprint';
/** The fine-tunes' loss curve, for the Model panel. */
export const SETTING_LOSSES = 'model.losses';
/** Where the shared parameters came from (the shipped global model, an import, or this device). */
export const SETTING_GLOBAL_SOURCE = 'model.globalSource';
/** The noise multipliers of every model update exported, for the privacy accountant. */
export const SETTING_EXPORT_SIGMAS = 'federated.exportNoiseMultipliers';
/** The consent to contribute to the shared model (engine/contribute.ts): given by the user, never imported. */
export const SETTING_CONTRIBUTE = 'secagg.contribute';
/** Which mode the consent is for, where the deployment names both: 'masked' or 'verifiable' (engine/contribute.ts). */
export const SETTING_CONTRIBUTE_MODE = 'secagg.contributeMode';
/** The verifiable collection this device last sent a report for (one report per collection, across reloads). */
export const SETTING_VERIFIABLE_SENT = 'secagg.verifiableSentFor';
/** The σ of each secure-aggregation round joined, for ε. */
export const SETTING_ROUNDS = 'secagg.roundNoiseMultipliers';

/**
 * The federated export's settings (core/federated/settings.ts), one key per field of FederatedSettings but
 * clipShares, a record, which a setting's flat value cannot hold (storage/store.ts SettingValue).
 */
export const FEDERATED_SETTINGS = {
  clipNorm: 'federated.clipNorm',
  noiseMultiplier: 'federated.noiseMultiplier',
  delta: 'federated.delta',
  epsilonBudget: 'federated.epsilonBudget',
  relation: 'federated.relation',
} as const satisfies { [F in keyof Omit<FederatedSettings, 'clipShares'>]-?: `federated.${F}` };

/** The settings that describe the stored model: they belong to its weights (an import takes both or neither). */
export const MODEL_SETTINGS: readonly string[] = [SETTING_MODEL_ID, SETTING_FINGERPRINT, SETTING_LOSSES, SETTING_GLOBAL_SOURCE];

/** Every key the engine writes, with its value's type. */
export interface Settings {
  [SETTING_ENCODER_ID]: string;
  [SETTING_MODEL_ID]: string;
  [SETTING_FINGERPRINT]: string;
  [SETTING_LOSSES]: number[];
  [SETTING_GLOBAL_SOURCE]: string;
  [SETTING_EXPORT_SIGMAS]: number[];
  [SETTING_CONTRIBUTE]: boolean;
  [SETTING_CONTRIBUTE_MODE]: 'masked' | 'verifiable';
  [SETTING_VERIFIABLE_SENT]: string;
  [SETTING_ROUNDS]: number[];
  [FEDERATED_SETTINGS.clipNorm]: number;
  [FEDERATED_SETTINGS.noiseMultiplier]: number;
  [FEDERATED_SETTINGS.delta]: number;
  [FEDERATED_SETTINGS.epsilonBudget]: number;
  /** FederatedSettings' relation, once the schema has checked it. */
  [FEDERATED_SETTINGS.relation]: string;
}
export type SettingKey = keyof Settings;
/** Settings to write: known keys, each with its type. */
export type SettingsUpdate = Partial<Settings>;

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const flag = (value: unknown) => (typeof value === 'boolean' ? value : undefined);
const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
const numbers = (value: unknown) => (Array.isArray(value) ? value.filter((x): x is number => typeof x === 'number') : undefined);
/** Noise multipliers: a list's positive numbers (a stored 0, negative or non-number is no round). */
const multipliers = (value: unknown) => numbers(value)?.filter((x) => x > 0);

/** The check of each key's stored value: its value, or undefined when it is not of the key's type. */
const CHECKS: { [K in SettingKey]: (value: unknown) => Settings[K] | undefined } = {
  [SETTING_ENCODER_ID]: text,
  [SETTING_MODEL_ID]: text,
  [SETTING_FINGERPRINT]: text,
  [SETTING_LOSSES]: numbers,
  [SETTING_GLOBAL_SOURCE]: text,
  [SETTING_EXPORT_SIGMAS]: multipliers,
  [SETTING_CONTRIBUTE]: flag,
  [SETTING_CONTRIBUTE_MODE]: (value) => (value === 'masked' || value === 'verifiable' ? value : undefined),
  [SETTING_VERIFIABLE_SENT]: text,
  [SETTING_ROUNDS]: multipliers,
  [FEDERATED_SETTINGS.clipNorm]: number,
  [FEDERATED_SETTINGS.noiseMultiplier]: number,
  [FEDERATED_SETTINGS.delta]: number,
  [FEDERATED_SETTINGS.epsilonBudget]: number,
  [FEDERATED_SETTINGS.relation]: text,
};

/** A setting as read from the store's settings, checked: undefined when unset or not of its type. */
export function readSetting<K extends SettingKey>(settings: Readonly<Record<string, unknown>>, key: K): Settings[K] | undefined {
  return CHECKS[key](settings[key]);
}
