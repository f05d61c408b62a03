/** The user's settings in IndexedDB, by name: checked on every read. */
import { checkSettings } from '../records';
import type { SettingValue, StoredSettings } from '../store';
import type { NoteSkipped, RecsDatabase } from './schema';
import { settled } from './settled';

/** Writes several settings in one transaction. */
export async function putSettings(db: RecsDatabase, values: Readonly<StoredSettings>): Promise<void> {
  const tx = settled(db.transaction('settings', 'readwrite'));
  await Promise.all([...Object.entries(values).map(([name, value]) => tx.store.put(value, name)), tx.done]);
}

export async function putSetting(db: RecsDatabase, name: string, value: SettingValue): Promise<void> {
  await db.put('settings', value, name);
}

/** Every stored setting that passes its check; the rest are left out (the app's default then) and noted. */
export async function getSettings(db: RecsDatabase, note: NoteSkipped): Promise<StoredSettings> {
  const tx = settled(db.transaction('settings'));
  const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
  // Checked like an imported setting: a damaged or hand-made value is left out.
  const { settings, skipped } = checkSettings(keys, values);
  if (skipped.length > 0)
    note(`${skipped.length === 1 ? 'a stored setting was' : `${skipped.length} stored settings were`} damaged and ignored (${skipped.slice(0, 3).join(', ')})`);
  return settings;
}
