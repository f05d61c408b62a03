import { useCallback, useEffect, useId, useRef, useState } from 'react';
import type { EncoderCache, EncoderOption, EngineSnapshot } from '../engine/api';
import type { EngineClient } from './engine-client';
import { memoOnSnapshotFields } from './snapshot-memo';
import { formatBytes } from './format';
import { useTimeLeft } from './useTimeLeft';

const languageNames = new Intl.DisplayNames(['en'], { type: 'language' });

function languagesText(languages: readonly string[]): string {
  if (languages.includes('*')) return 'about 100 languages';
  return languages.map((code) => languageNames.of(code) ?? code).join(', ');
}

/** What choosing a model costs and what it reads, under its name. */
function describe(option: EncoderOption): string {
  const parts = [languagesText(option.languages), `${option.dimension} dimensions`];
  parts.push(option.bundled ? 'works offline, nothing to download' : `${formatBytes(option.downloadBytes)} download, once`);
  return parts.join(' · ');
}

interface SettingsPanelProps {
  engine: EngineClient;
  snapshot: EngineSnapshot;
  announce(message: string): void;
}

/** The "Settings" region: the choice of text model (with its switch's progress) and the cache of other models' vectors. */
export const SettingsPanel = memoOnSnapshotFields(function SettingsPanel({ engine, snapshot, announce }: SettingsPanelProps) {
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
    const events = `${historySize.toLocaleString()} ${historySize === 1 ? 'event' : 'events'}`;
    const message = `Now using ${encoder.label}. Your history is kept (${events}); the recommendation model re-learned it with the new text model.`;
    setSwitched(message);
    announce(message);
  }, [encoder, historySize, announce]);

  const chosen = pending ?? encoderSwitch?.to ?? encoder?.id;
  const others = (caches ?? []).filter((cache) => !cache.active && cache.id !== encoderSwitch?.to);
  const otherBytes = others.reduce((sum, cache) => sum + cache.bytes, 0);

  const clearOthers = async () => {
    const freed = await engine.clearOtherEncoderCaches();
    const message = `Cleared ${freed.count.toLocaleString()} cached book vectors of other models: ${formatBytes(freed.bytes)} freed.`;
    setCleared(message);
    announce(message);
    refreshCaches();
  };

  return (
    <section className="panel" aria-labelledby="settings-heading" id="settings">
      <h2 id="settings-heading">Settings</h2>
      <fieldset className="encoder-choice" disabled={!encoder}>
        <legend>Text model</legend>
        <p className="panel-intro">
          The model that reads book descriptions and your searches. Switching keeps your history: the recommendation model
          re-learns it with the new text model, and the feed keeps working on the current one until then.
        </p>
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
                {describe(option)}
                {option.fixture && (
                  <strong className="fixture-note">
                    {' '}
                    — test fixture with random weights: it exercises the download and the code, but its recommendations mean
                    nothing.
                  </strong>
                )}
              </p>
            </div>
          );
        })}
      </fieldset>
      {encoderSwitch && (
        <div className="encoder-switch">
          <p aria-live="polite" id={`${idPrefix}-switch`}>
            {encoderSwitch.stage === 'loading'
              ? `Loading ${encoderSwitch.label}: ${formatBytes(encoderSwitch.done)} of ${formatBytes(encoderSwitch.total)}${encoderSwitch.file ? ` (${encoderSwitch.file})` : ''}.`
              : `${encoderSwitch.label} is reading books: ${encoderSwitch.done.toLocaleString()} of ${encoderSwitch.total.toLocaleString()} before it takes over.`}{' '}
            Recommendations use {encoder?.label} until then.
          </p>
          <progress
            aria-label="Switching the text model"
            aria-describedby={`${idPrefix}-switch`}
            max={Math.max(1, encoderSwitch.total)}
            value={encoderSwitch.done}
          />
          {readingTimeLeft && <span className="switch-time-left">{readingTimeLeft}</span>}
        </div>
      )}
      {encoderError && (
        <p role="alert" className="error-text">
          {encoderError}
        </p>
      )}
      {switched && !encoderSwitch && <p className="switch-done">{switched}</p>}
      <h3>Cached book vectors</h3>
      <ul className="encoder-caches" aria-label="Cached book vectors">
        {(caches ?? []).map((cache) => (
          <li key={cache.id}>
            {cache.label}: {cache.count.toLocaleString()} books, {formatBytes(cache.bytes)}
            {cache.active ? ' (in use)' : ''}
          </li>
        ))}
        {caches?.length === 0 && <li>None yet.</li>}
      </ul>
      <div className="panel-controls">
        <button type="button" onClick={() => void clearOthers()} disabled={others.length === 0}>
          Clear cache of other models
        </button>
        {others.length > 0 && <span className="panel-intro">{formatBytes(otherBytes)} can be freed; switching back then reads the books again.</span>}
      </div>
      {cleared && <p className="cache-cleared">{cleared}</p>}
    </section>
  );
}, ['encoder', 'encoders', 'encoderSwitch', 'encoderError', 'historySize', 'embedding']);
