import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EngineClient } from './engine-client';
import { formatPercent } from './format';

/** Typing pauses this long before the query is embedded: one encoder call per pause, not per key. */
const QUERY_DEBOUNCE_MS = 300;
const DIVERSITY_DEBOUNCE_MS = 120;

interface FeedControlsProps {
  engine: EngineClient;
  /** Told of every diversity value sent, so the feed can show it is updating until the engine answers. */
  onDiversityRequested(value: number): void;
  /** The engine's active query and diversity, to show after a reload or another change. */
  query: string | undefined;
  queryError: string | undefined;
  diversity: number;
}

/** The search box ("What are you in the mood for?") and the "Diversity" slider above the feed. */
export function FeedControls({ engine, onDiversityRequested, query, queryError, diversity }: FeedControlsProps) {
  const { t } = useTranslation();
  const [text, setText] = useState(query ?? '');
  const [spread, setSpread] = useState(diversity);
  const hintId = useId();
  const queryTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const diversityTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => setSpread(diversity), [diversity]);
  useEffect(
    () => () => {
      clearTimeout(queryTimer.current);
      clearTimeout(diversityTimer.current);
    },
    [],
  );

  const submitSoon = (value: string, delay: number) => {
    clearTimeout(queryTimer.current);
    queryTimer.current = setTimeout(() => void engine.setQuery(value), delay);
  };

  return (
    <div className="feed-controls">
      <form
        role="search"
        aria-label={t('search.region')}
        onSubmit={(event) => {
          event.preventDefault();
          submitSoon(text, 0);
        }}
      >
        <label>
          {t('search.label')}{' '}
          <input
            type="search"
            value={text}
            placeholder={t('search.placeholder')}
            maxLength={500}
            aria-describedby={hintId}
            onChange={(event) => {
              setText(event.target.value);
              submitSoon(event.target.value, QUERY_DEBOUNCE_MS);
            }}
          />
        </label>
        <button type="submit">{t('search.submit')}</button>
        {/* "Clear", not "Clear search": a test or a voice command asking for the "Search" button finds one. */}
        {text && (
          <button
            type="button"
            onClick={() => {
              setText('');
              submitSoon('', 0);
            }}
          >
            {t('search.clear')}
          </button>
        )}
        {/* A query error is the engine's English sentence (marked as English for screen readers). */}
        <p id={hintId} className={queryError ? 'hint error' : 'hint'} role={queryError ? 'alert' : undefined} lang={queryError ? 'en' : undefined}>
          {queryError ?? (query ? t('search.steered', { query }) : t('search.hint'))}
        </p>
      </form>
      <label className="diversity">
        {t('search.diversity')}{' '}
        <input
          type="range"
          min={0}
          max={1}
          step={0.1}
          value={spread}
          aria-valuetext={t('search.diversityValue', {
            percent: formatPercent(spread),
            meaning: t(spread < 0.2 ? 'search.mostRelevant' : spread > 0.7 ? 'search.mostVaried' : 'search.balanced'),
          })}
          onChange={(event) => {
            const value = Number(event.target.value);
            setSpread(value);
            onDiversityRequested(value);
            clearTimeout(diversityTimer.current);
            diversityTimer.current = setTimeout(() => void engine.setDiversity(value), DIVERSITY_DEBOUNCE_MS);
          }}
        />{' '}
        <output>{formatPercent(spread)}</output>
      </label>
    </div>
  );
}
