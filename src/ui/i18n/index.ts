/**
 * The interface's words (i18next + react-i18next): English and Simplified Chinese, chosen by the
 * browser's language unless the user picked one in Settings (kept in localStorage: a UI preference,
 * cleared by "Erase all my data"). Resources are bundled, so initialisation is synchronous and the
 * first render already speaks the right language. `<html lang>` follows the language.
 */
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './en';
import { chosenLanguage, forgetLanguageChoice, LANGUAGE_STORAGE_KEY } from './chosen-language';
import { isLanguage, type Language } from './language';
import { zhCN } from './zh-CN';

export { LANGUAGES, LANGUAGE_NAMES, type Language } from './language';

export { forgetLanguageChoice, LANGUAGE_STORAGE_KEY };

function followDocumentLanguage(language: string) {
  if (typeof document !== 'undefined') document.documentElement.lang = language;
}

i18n.on('languageChanged', followDocumentLanguage);
void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, 'zh-CN': { translation: zhCN } },
  lng: chosenLanguage(),
  fallbackLng: 'en',
  supportedLngs: ['en', 'zh-CN'],
  // Resources are in the bundle: ready before the first render, no Suspense.
  initAsync: false,
  // React escapes what it renders; escaping here too would show "&amp;" in titles.
  interpolation: { escapeValue: false },
  react: { useSuspense: false },
  returnNull: false,
});

/** The language the interface speaks now. */
export function currentLanguage(): Language {
  return isLanguage(i18n.language) ? i18n.language : 'en';
}

/** Switches the interface's language and remembers the choice for later visits. */
export async function chooseLanguage(language: Language): Promise<void> {
  try {
    localStorage.setItem(LANGUAGE_STORAGE_KEY, language);
  } catch {
    // not remembered where storage is blocked; the switch still applies to this visit
  }
  await i18n.changeLanguage(language);
}

/** A catalog genre's name in the interface's language; a genre this UI does not know is shown as the catalog names it. */
export function genreLabel(name: string, language: Language = currentLanguage()): string {
  const names: Record<string, string> = (language === 'zh-CN' ? zhCN : en).genre;
  return Object.hasOwn(names, name) ? names[name]! : name;
}

export { i18n };
