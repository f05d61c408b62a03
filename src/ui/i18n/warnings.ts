/**
 * The engine's warnings in the interface's language. The worker sends a code and its details
 * (EngineWarning, engine/api.ts) and holds no UI text; the sentences are the `warning` keys of ./en.ts
 * and ./zh-CN.ts, formatted here with i18next's t() (plurals by count).
 *
 * String details (an error message from the browser or a runtime, a URL, a model's name) never go
 * through i18next: t() gets a mark for each and the value is put back afterwards. So a detail is shown
 * exactly as written (nothing in it is read as "{{…}}" or "$t(…)"), and the UI can mark it as English
 * inside a sentence of another language.
 */
import type { EngineWarning, WarningCode } from '../../engine/api';
import { formatDecimal } from '../format';
import { currentLanguage, i18n, type Language } from './index';

/** Every code, listed at run time (the tests check each has words in every language); `satisfies` keeps it complete. */
const CODES = {
  catalogRowsSkipped: true,
  encoderNotOffered: true,
  historySkipped: true,
  prebuiltIgnored: true,
  backendUnavailableModelKept: true,
  backendUnavailable: true,
  encoderNotice: true,
  storageFull: true,
  modelScoresNotNumbers: true,
  storedDataSkipped: true,
  shippedModelIgnored: true,
  storedModelRebuilt: true,
  modelStartFailed: true,
  trainingStopped: true,
  contributionUnavailable: true,
  chosenEncoderFailed: true,
  encoderFailed: true,
  coLikedIgnored: true,
  prebuiltFileIgnored: true,
  prebuiltWrongModel: true,
  prebuiltMismatch: true,
  prebuiltNotCached: true,
  columnsNotKept: true,
  catalogTextsMissing: true,
  embeddingStopped: true,
  backendFailed: true,
  backendFailedWhileTraining: true,
} as const satisfies Record<WarningCode, true>;
export const WARNING_CODES = Object.keys(CODES) as WarningCode[];

/** A piece of a warning: the sentence's own words, or a detail as the engine gave it (English or a name). */
export type WarningPart = string | { detail: string };

const MARK = /\uE000(\d+)\uE001/;

/** The warning as pieces, in `language`. */
export function warningParts(warning: EngineWarning, language: Language = currentLanguage()): WarningPart[] {
  const details: string[] = [];
  const values: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(warning.params) as [string, string | number][]) {
    if (typeof value === 'string') {
      // Private-use characters: no engine detail is expected to hold them, and t() leaves them alone.
      values[key] = `\uE000${details.length}\uE001`;
      details.push(value);
    } else {
      // Counts, row numbers and dimensions as the engine wrote them (digits, no grouping).
      values[key] = value;
    }
  }
  if (warning.code === 'prebuiltMismatch') values.minCosine = formatDecimal(warning.params.minCosine, 3, language);
  const t = i18n.getFixedT(language);
  const text = (t as (key: string, options: Record<string, unknown>) => string)(`warning.${warning.code}`, values);
  const pieces = text.split(MARK);
  const parts: WarningPart[] = [];
  pieces.forEach((piece, i) => {
    if (i % 2 === 1) parts.push({ detail: details[Number(piece)] ?? '' });
    else if (piece !== '') parts.push(piece);
  });
  return parts;
}

/** The warning as one string, in `language`. */
export function formatWarning(warning: EngineWarning, language: Language = currentLanguage()): string {
  return warningParts(warning, language)
    .map((part) => (typeof part === 'string' ? part : part.detail))
    .join('');
}
