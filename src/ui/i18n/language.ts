/** Which language the interface speaks: pure, so that the choice is tested without a browser. */

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Each language named in itself, for the switch in Settings (the same in every UI language). */
export const LANGUAGE_NAMES: Readonly<Record<Language, string>> = { en: 'English', 'zh-CN': '简体中文' };

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/**
 * The user's choice in Settings when there is one, else the browser's first preferred language:
 * any Chinese (zh, zh-CN, zh-TW, zh-Hans…) gets Simplified Chinese, the only Chinese offered; anything
 * else English. A stored value that is not a known language (an old or tampered one) is ignored.
 */
export function pickLanguage(stored: string | null | undefined, preferred: readonly string[]): Language {
  if (isLanguage(stored)) return stored;
  const first = preferred.find((tag) => typeof tag === 'string' && tag.length > 0);
  return first !== undefined && /^zh(-|$)/i.test(first) ? 'zh-CN' : 'en';
}
