import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EncoderCache, EncoderOption, EngineSnapshot } from '../engine/api';
import type { EngineClient } from './engine-client';
import { memoOnSnapshotFields } from './snapshot-memo';
import { formatBytes, formatNumber } from './format';
import { chooseLanguage, currentLanguage, i18n, LANGUAGE_NAMES, LANGUAGES, type Language } from './i18n';
import { useTimeLeft } from './useTimeLeft';

/** The languages a text model reads, named in the interface's language ("English, French"; "英语、法语"). */
function languagesText(languages: readonly string[], language: Language): string {
  if (languages.includes('*')) return i18n.t('settings.manyLanguages');
  const names = new Intl.DisplayNames([language], { type: 'language' });
  const list = new Intl.ListFormat(language, { type: 'conjunction', style: 'narrow' });
  return list.format(languages.map((code) => names.of(code) ?? code));
}

/** What choosing a model costs and what it reads, under its name. */
function describe(option: EncoderOption, language: Language): string {
  const parts = [languagesText(option.languages, language), i18n.t('settings.dimensions', { dimension: formatNumber(option.dimension) })];
  parts.push(option.bundled ? i18n.t('settings.offline') : i18n.t('settings.download', { size: formatBytes(option.downloadBytes) }));
  return parts.join(' · ');
}

/** "Language": English or 简体中文, remembered for later visits (see ./i18n). */
function LanguageChoice() {
  const { t } = useTranslation();
  const language = currentLanguage();
  return (
    <div className="language-choice">
      <label>
        {t('settings.language')}{' '}
        <select value={language} onChange={(event) => void chooseLanguage(event.target.value as Language)}>
          {LANGUAGES.map((code) => (
            <option key={code} value={code} lang={code}>
              {LANGUAGE_NAMES[code]}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

interface SettingsPanelProps {
  engine: EngineClient;
  snapshot: EngineSnapshot;
  announce(message: string): void;
}

/** The "Settings" region: the choice of text model (with its switch's progress) and the cache of other models' vectors. */
export const SettingsPanel = memoOnSnapshotFields(
  function SettingsPanel({ engine, snapshot, announce }: SettingsPanelProps) {
    const { t } = useTranslation();
    const language = currentLanguage();
    const { encoder, encoders = [], encoderSwitch, encoderError, historySize } = snapshot;
    const [caches, setCaches] = useState<EncoderCache[] | undefined>(undefined);
    const [cleared, setCleared] = useState<string | undefined>(undefined);
    const [switched, setSwitched] = useState<string | undefined>(undefined);
    // The choice just made, shown checked until the engine's next state says what happened to it
    // (a radio bound to the engine's state alone would spring back until the worker answers).
    const [pending, setPending] = useState<string | undefined>(undefined);
    useEffect(() => setPending(undefined), [encoderSwitch?.to, encoder?.id, encoderError]);
    const previous = useRef(encoder?.id);
    const idPrefix = useId();
    const readingTimeLeft = useTimeLeft(encoderSwitch?.stage === 'embedding' ? encoderSwitch : undefined);

    const refreshCaches = useCallback(() => void engine.encoderCaches().then(setCaches), [engine]);
    // Sizes change when a model takes over, when a switch starts reading or ends, and when reading the catalog stops.
    useEffect(refreshCaches, [refreshCaches, encoder?.id, encoderSwitch?.stage, snapshot.embedding?.active]);

    useEffect(() => {
      if (!encoder || previous.current === encoder.id) return;
      const first = previous.current === undefined;
      previous.current = encoder.id;
      if (first) return;
      const message = i18n.t('settings.switched', { label: encoder.label, count: historySize, formatted: formatNumber(historySize) });
      setSwitched(message);
      announce(message);
    }, [encoder, historySize, announce]);

    const chosen = pending ?? encoderSwitch?.to ?? encoder?.id;
    const others = (caches ?? []).filter((cache) => !cache.active && cache.id !== encoderSwitch?.to);
    const otherBytes = others.reduce((sum, cache) => sum + cache.bytes, 0);

    const clearOthers = async () => {
      const freed = await engine.clearOtherEncoderCaches();
      const message = t('settings.cleared', { vectors: formatNumber(freed.count), size: formatBytes(freed.bytes) });
      setCleared(message);
      announce(message);
      refreshCaches();
    };

    return (
      <section className="panel" aria-labelledby="settings-heading" id="settings">
        <h2 id="settings-heading">{t('settings.heading')}</h2>
        <LanguageChoice />
        <fieldset className="encoder-choice" disabled={!encoder}>
          <legend>{t('settings.textModel')}</legend>
          <p className="panel-intro">{t('settings.intro')}</p>
          {encoders.map((option) => {
            const descriptionId = `${idPrefix}-${option.id}`;
            return (
              <div key={option.id} className="encoder-option">
                <label>
                  <input
                    type="radio"
                    name={`${idPrefix}-encoder`}
                    value={option.id}
                    checked={chosen === option.id}
                    aria-describedby={descriptionId}
                    onChange={() => {
                      setSwitched(undefined);
                      setPending(option.id);
                      void engine.setEncoder(option.id).finally(() => setPending((current) => (current === option.id ? undefined : current)));
                    }}
                  />{' '}
                  {option.label}
                </label>
                <p id={descriptionId} className="encoder-facts">
                  {describe(option, language)}
                  {option.fixture && <strong className="fixture-note">{t('settings.fixture')}</strong>}
                </p>
              </div>
            );
          })}
        </fieldset>
        {encoderSwitch && (
          <div className="encoder-switch">
            <p aria-live="polite" id={`${idPrefix}-switch`}>
              {encoderSwitch.stage === 'loading'
                ? t('settings.loading', {
                    label: encoderSwitch.label,
                    done: formatBytes(encoderSwitch.done),
                    total: formatBytes(encoderSwitch.total),
                    file: encoderSwitch.file ? ` (${encoderSwitch.file})` : '',
                  })
                : t('settings.readingBooks', {
                    label: encoderSwitch.label,
                    done: formatNumber(encoderSwitch.done),
                    total: formatNumber(encoderSwitch.total),
                  })}{' '}
              {t('settings.until', { label: encoder?.label })}
            </p>
            <progress
              aria-label={t('settings.switching')}
              aria-describedby={`${idPrefix}-switch`}
              max={Math.max(1, encoderSwitch.total)}
              value={encoderSwitch.done}
            />
            {readingTimeLeft && <span className="switch-time-left">{readingTimeLeft}</span>}
          </div>
        )}
        {encoderError && (
          <p role="alert" className="error-text" lang="en">
            {encoderError}
          </p>
        )}
        {switched && !encoderSwitch && <p className="switch-done">{switched}</p>}
        <h3>{t('settings.cachesHeading')}</h3>
        <ul className="encoder-caches" aria-label={t('settings.cachesHeading')}>
          {(caches ?? []).map((cache) => (
            <li key={cache.id}>
              {t('settings.cache', { label: cache.label, books: formatNumber(cache.count), size: formatBytes(cache.bytes) })}
              {cache.active ? t('settings.inUse') : ''}
            </li>
          ))}
          {caches?.length === 0 && <li>{t('settings.none')}</li>}
        </ul>
        <div className="panel-controls">
          <button type="button" onClick={() => void clearOthers()} disabled={others.length === 0}>
            {t('settings.clearOthers')}
          </button>
          {others.length > 0 && <span className="panel-intro">{t('settings.canFree', { size: formatBytes(otherBytes) })}</span>}
        </div>
        {cleared && <p className="cache-cleared">{cleared}</p>}
      </section>
    );
  },
  ['encoder', 'encoders', 'encoderSwitch', 'encoderError', 'historySize', 'embedding'],
);
