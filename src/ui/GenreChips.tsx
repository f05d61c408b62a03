import { memo, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { GenreOption } from '../engine/api';
import type { EngineClient } from './engine-client';
import { genreLabel } from './i18n';

/** Chips offered: the most common genres (snapshot.genres comes most books first); a chosen one is always shown. */
export const MAX_GENRE_CHIPS = 16;
/**
 * A genre on more than this share of the catalog says nothing about a taste ("fiction" is on 80 % of
 * goodbooks): it is not offered, unless already chosen.
 */
export const MAX_GENRE_SHARE = 0.5;

interface GenreChipsProps {
  engine: EngineClient;
  genres: readonly GenreOption[] | undefined;
  chosen: readonly string[] | undefined;
  /** Books in the catalog (snapshot.catalog.size). */
  catalogSize: number | undefined;
  announce(message: string): void;
  onError(message: string): void;
}

/**
 * The genres to offer: the MAX_GENRE_CHIPS most common that are not on most of the catalog, then any
 * chosen genre left out (so that it can be un-chosen), in the engine's order.
 */
export function chipsToShow(genres: readonly GenreOption[], chosen: ReadonlySet<string>, catalogSize: number | undefined): GenreOption[] {
  const telling = genres.filter((genre) => catalogSize === undefined || genre.books <= catalogSize * MAX_GENRE_SHARE).slice(0, MAX_GENRE_CHIPS);
  const offered = new Set(telling.map((genre) => genre.name));
  return genres.filter((genre) => offered.has(genre.name) || chosen.has(genre.name));
}

/**
 * "What do you like to read?": a row of toggle buttons (aria-pressed), one per genre, that seed the
 * taste profile before any like. Each choice is an event the engine stores (history, export, erase).
 * Absent when the catalog has no genres.
 */
export const GenreChips = memo(function GenreChips({ engine, genres, chosen, catalogSize, announce, onError }: GenreChipsProps) {
  const { t } = useTranslation();
  const headingId = useId();
  const hintId = useId();
  // A choice just made shows as pressed until the engine's next snapshot says what happened to it.
  const [pending, setPending] = useState<ReadonlyMap<string, boolean>>(new Map());
  useEffect(() => setPending(new Map()), [chosen]);
  const chosenSet = new Set(chosen ?? []);
  const shown = genres ? chipsToShow(genres, chosenSet, catalogSize) : [];
  if (shown.length === 0) return null;

  const isPressed = (name: string) => pending.get(name) ?? chosenSet.has(name);

  const toggle = (name: string) => {
    const next = !isPressed(name);
    setPending((current) => new Map(current).set(name, next));
    void engine.setGenre(name, next).then(
      () => announce(t(next ? 'genres.chosen' : 'genres.unchosen', { genre: genreLabel(name) })),
      (error: unknown) => {
        setPending((current) => {
          const without = new Map(current);
          without.delete(name);
          return without;
        });
        onError(t('app.couldNotSave', { message: error instanceof Error ? error.message : String(error) }));
      },
    );
  };

  return (
    <section className="genre-chips" aria-labelledby={headingId}>
      <h2 id={headingId}>{t('genres.heading')}</h2>
      <p id={hintId} className="hint">
        {t('genres.hint')}
      </p>
      <ul className="chip-list" aria-labelledby={headingId} aria-describedby={hintId}>
        {shown.map((genre) => (
          <li key={genre.name}>
            <button type="button" className="chip" aria-pressed={isPressed(genre.name)} data-genre={genre.name} onClick={() => toggle(genre.name)}>
              {genreLabel(genre.name)}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
});
