/**
 * The language this page will speak, without loading i18next: the kept feed's early paint
 * (kept-shell.ts) runs before the interface's bundle and paints only in the language the interface
 * is about to choose (i18n/index.ts uses the same function).
 */
import { pickLanguage, type Language } from './language';

/** localStorage key of the language chosen in Settings. */
export const LANGUAGE_STORAGE_KEY = 'private-recs-language';

function storedLanguage(): string | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage.getItem(LANGUAGE_STORAGE_KEY);
  } catch {
    return null; // storage blocked (e.g. some privacy modes): fall back to the browser's language
  }
}

function browserLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? navigator.languages : [navigator.language];
}

/**
 * Forgets the language chosen in Settings (part of "Erase all my data"). Here, not in index.ts, so that
 * engine-boot.ts (the page's first module, without i18next) can forget it when the engine reports an erase.
 */
export function forgetLanguageChoice(): void {
  try {
    if (typeof localStorage !== 'undefined') localStorage.removeItem(LANGUAGE_STORAGE_KEY);
  } catch {
    // storage blocked: nothing was stored
  }
}

/** The user's choice in Settings, else the browser's preferred language (see pickLanguage). */
export function chosenLanguage(): Language {
  return pickLanguage(storedLanguage(), browserLanguages());
}
