/**
 * The snapshot's warnings as the English UI shows them (the engine sends codes, ui/i18n/warnings.ts
 * words them): engine tests read the sentences a reader would.
 */
import { formatWarning } from '../../ui/i18n/warnings';
import type { EngineSnapshot } from '../api';

export function englishWarnings(snapshot: Pick<EngineSnapshot, 'warnings'>): string[] {
  return snapshot.warnings.map((warning) => formatWarning(warning, 'en'));
}
