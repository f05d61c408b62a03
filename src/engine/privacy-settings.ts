/**
 * The rules for the settings that guard privacy: which federated settings an update file is made with
 * (anything invalid means the defaults, never weaker noise), and what a data import may change (never
 * the consent to contribute, never a shorter record of the privacy budget already spent).
 *
 * Separate from personal-model.ts and history.ts, which apply them: the rules are pure functions of
 * settings records, kept together so that every place ε is computed from reads the same records.
 */
import { federatedSettingsSchema, type FederatedSettings } from '../core/federated/settings';
import {
  FEDERATED_SETTINGS,
  MODEL_SETTINGS,
  readSetting,
  SETTING_CONTRIBUTE,
  SETTING_CONTRIBUTE_MODE,
  SETTING_EXPORT_SIGMAS,
  SETTING_ROUNDS,
  SETTING_VERIFIABLE_SENT,
} from './settings-keys';

/**
 * This device's contribution state, never taken from a file: the consent, the mode it was given for (which
 * services receive the updates), and the collection this device last sent a report to.
 */
const DEVICE_ONLY_SETTINGS: readonly string[] = [SETTING_CONTRIBUTE, SETTING_CONTRIBUTE_MODE, SETTING_VERIFIABLE_SENT];

/**
 * The settings an import stores: the file's, without the model's own (MODEL_SETTINGS) unless its model
 * is taken too; and the record of model updates already exported (each spent privacy budget) is never
 * shortened: the longer of the file's and this device's list is kept, so ε is never undercounted.
 */
export function settingsToImport<V>(file: Readonly<Record<string, V>>, local: Readonly<Record<string, V>>, withModel: boolean): Record<string, V> {
  // The consent to contribute to the shared model, and the mode it names, are given here, by the user, never
  // taken from a file; this device's own record of its last report stays this device's.
  const kept = Object.fromEntries(
    Object.entries(file).filter(([name]) => (withModel || !MODEL_SETTINGS.includes(name)) && !DEVICE_ONLY_SETTINGS.includes(name)),
  );
  // Likewise the record of secure-aggregation rounds joined (contribute.ts), which ε is computed from.
  for (const record of [SETTING_EXPORT_SIGMAS, SETTING_ROUNDS]) {
    const here = local[record];
    const there = kept[record];
    if (Array.isArray(here) && (!Array.isArray(there) || there.length < here.length)) kept[record] = here;
  }
  return kept;
}

/** The federated settings an update file is made with, and the noise multipliers of the updates already exported. */
export function federatedSettingsFrom(stored: Readonly<Record<string, unknown>>): { settings: FederatedSettings; past: number[] } {
  const past = readSetting(stored, SETTING_EXPORT_SIGMAS) ?? [];
  const fields: Record<string, unknown> = {};
  for (const [field, key] of Object.entries(FEDERATED_SETTINGS)) {
    if (stored[key] === undefined) continue;
    const value = readSetting(stored, key);
    // A corrupted or hand-edited setting must never weaken the noise: anything invalid means defaults.
    if (value === undefined) return { settings: federatedSettingsSchema.parse({}), past };
    fields[field] = value;
  }
  const parsed = federatedSettingsSchema.safeParse(fields);
  return { settings: parsed.success ? parsed.data : federatedSettingsSchema.parse({}), past };
}
