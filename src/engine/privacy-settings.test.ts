import { describe, expect, it } from 'vitest';
import { DEFAULT_FEDERATED_SETTINGS } from '../core/federated/settings';
import { federatedSettingsFrom, settingsToImport } from './privacy-settings';
import {
  FEDERATED_SETTINGS,
  SETTING_CONTRIBUTE,
  SETTING_CONTRIBUTE_MODE,
  SETTING_EXPORT_SIGMAS,
  SETTING_ROUNDS,
  SETTING_VERIFIABLE_SENT,
} from './settings-keys';

describe('federatedSettingsFrom', () => {
  it('reads each federated setting by its key, and the past exports apart', () => {
    const { settings, past } = federatedSettingsFrom({
      [FEDERATED_SETTINGS.clipNorm]: 2,
      [FEDERATED_SETTINGS.noiseMultiplier]: 8,
      [FEDERATED_SETTINGS.delta]: 1e-6,
      [FEDERATED_SETTINGS.epsilonBudget]: 5,
      [FEDERATED_SETTINGS.relation]: 'replace-one',
      [SETTING_EXPORT_SIGMAS]: [5, 0, 6],
      'encoder.id': 'use-lite-512',
    });
    expect(settings).toEqual({ clipNorm: 2, noiseMultiplier: 8, delta: 1e-6, epsilonBudget: 5, relation: 'replace-one' });
    expect(past).toEqual([5, 6]);
  });

  it('keeps the defaults of the fields not set, and ignores federated names it does not know', () => {
    const { settings } = federatedSettingsFrom({ [FEDERATED_SETTINGS.noiseMultiplier]: 7, 'federated.unknown': 0.001 });
    expect(settings).toEqual({ ...DEFAULT_FEDERATED_SETTINGS, noiseMultiplier: 7 });
  });

  it('falls back to every default when one setting is invalid, never to weaker noise', () => {
    for (const invalid of [0.1, '8', null, [8]]) {
      const { settings } = federatedSettingsFrom({ [FEDERATED_SETTINGS.clipNorm]: 3, [FEDERATED_SETTINGS.noiseMultiplier]: invalid });
      expect(settings).toEqual(DEFAULT_FEDERATED_SETTINGS);
    }
    expect(federatedSettingsFrom({ [FEDERATED_SETTINGS.relation]: 'none' }).settings).toEqual(DEFAULT_FEDERATED_SETTINGS);
  });
});

describe('settingsToImport', () => {
  it('never takes the consent to contribute, its mode or the last verifiable report from a file, and never shortens a privacy record', () => {
    const file = {
      [SETTING_CONTRIBUTE]: true,
      [SETTING_CONTRIBUTE_MODE]: 'verifiable',
      [SETTING_VERIFIABLE_SENT]: 'collection-7',
      [SETTING_ROUNDS]: [1],
      'ui.language': 'zh-CN',
    };
    const local = { [SETTING_CONTRIBUTE_MODE]: 'masked', [SETTING_ROUNDS]: [1, 2, 3] };
    const kept = settingsToImport<unknown>(file, local, false);
    expect(kept).toEqual({ [SETTING_ROUNDS]: [1, 2, 3], 'ui.language': 'zh-CN' });
  });
});
