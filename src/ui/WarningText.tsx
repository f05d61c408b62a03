import type { EngineWarning } from '../engine/api';
import { type Language } from './i18n';
import { warningParts } from './i18n/warnings';

/**
 * One engine warning in the interface's language. The details inside it (an error message from the
 * browser or a runtime, a URL, a model's name) are the engine's English: in another language they are
 * marked lang="en", so that a screen reader reads them as English.
 */
export function WarningText({ warning, language }: { warning: EngineWarning; language: Language }) {
  return (
    <>
      {warningParts(warning, language).map((part, i) =>
        typeof part === 'string' ? (
          part
        ) : language === 'en' ? (
          part.detail
        ) : (
          <span key={i} lang="en">
            {part.detail}
          </span>
        ),
      )}
    </>
  );
}
