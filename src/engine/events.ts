/**
 * What the user does, recorded: a view, click, like or dislike of an item (the feed answers before
 * the write commits), and a genre chosen or un-chosen in "What do you like to read?".
 */
import { isItemEvent, type EventKind } from '../core/events';
import { applyEvent } from '../core/profile';
import type { StoredEvent } from '../storage/db';
import type { EngineParts } from './parts';
import { measureLast } from './scale-marks';
import { genreSeedCandidates, genreSeeds, genreSnapshot } from './genres';
import { PENDING_EVENT_ID } from './util';

/** The last like, dislike or click's steps in the worker (a User Timing measure). */
export const EVENT_MEASURE = 'engine:event';

export class EventRecorder {
  /** Items already recorded as viewed since this page loaded (see record). */
  private readonly viewedThisVisit = new Set<number>();
  /** Genres whose choice is being stored (a second click meanwhile adds nothing). */
  private readonly genresBeingChosen = new Set<string>();

  constructor(
    private readonly p: EngineParts,
    /** Settles when the first feed is shown: an event on a card of the page's restored feed may come before. */
    private readonly started: Promise<void>,
  ) {}

  async record(kind: EventKind, itemId: string): Promise<void> {
    const received = performance.now();
    const { state, store, model, feed, encoders } = this.p;
    const view = state.view;
    if (!isItemEvent(kind)) throw new Error('A genre is chosen with setGenre, not recorded as an item event');
    if (view.current.phase === 'loading') await this.started;
    const index = state.catalog.indexOf(itemId);
    if (index === undefined) throw new Error(`Unknown item "${itemId}"`);
    // One impression per item per visit: a card that stays on screen while the feed re-renders around it
    // was seen once, and the ranker should count it once.
    if (kind === 'view') {
      if (this.viewedThisVisit.has(index)) return;
      this.viewedThisVisit.add(index);
    }
    const event = { kind, itemId, at: state.deps.now() };
    if (kind !== 'view') {
      state.lastUserEventAt = performance.now();
      encoders.userActive();
    }
    const saving = store.appendMakingRoom(event);
    if (kind === 'view') {
      // An impression changes no ranking: nothing to show before it is stored.
      const stored = await saving;
      state.events.push(stored);
      if (state.vectors.rows[index]) model.personal?.onEvent(kind, index, model.onlineContext(index));
      view.historyChanged(state.events.length);
      state.deps.broadcast({ type: 'history-changed' });
      return;
    }
    // The feed answers while IndexedDB commits (a write takes from a few to tens of milliseconds): the
    // event counts at once, under a placeholder id, and is taken back if it cannot be stored.
    const pending: StoredEvent = { id: PENDING_EVENT_ID, ...event };
    state.events.push(pending);
    const profileBefore = state.profile;
    const embedding = state.vectors.rows[index];
    if (embedding) state.profile = applyEvent(state.profile, kind, embedding);
    const personal = model.personal;
    const undoStep = personal && embedding ? personal.onEvent(kind, index, model.onlineContext(index)) : undefined;
    const ranking = performance.now();
    const ranked = feed.rank();
    const rankedAt = performance.now();
    view.update({ feed: ranked });
    // For the bench and DevTools (e2e/scale-columns.spec.ts places a Like's time with it): from the event's
    // arrival, before the rank (the history's write started), the rank, the new snapshot sent to the page.
    measureLast(EVENT_MEASURE, received, { before: ranking - received, rank: rankedAt - ranking, send: performance.now() - rankedAt });
    let stored: StoredEvent;
    try {
      stored = await saving;
    } catch (error) {
      state.events = state.events.filter((event) => event !== pending);
      state.profile = profileBefore;
      undoStep?.();
      view.update({ feed: feed.rank() });
      throw error;
    }
    // The history may have been re-read from storage meanwhile (another tab, a deletion).
    const at = state.events.indexOf(pending);
    if (at >= 0) state.events[at] = stored;
    else if (!state.events.some((event) => event.id === stored.id)) state.events.push(stored);
    if (!embedding) state.urgent.push(index);
    if (model.personal && embedding) {
      void model.personal.saveUser();
      model.scheduleFineTune();
    }
    view.historyChanged(state.events.length, model.personal ? { training: model.personal.status(view.current.training?.progress) } : {});
    state.deps.broadcast({ type: 'history-changed' });
  }

  /**
   * Chooses or un-chooses a genre. Choosing stores one 'genre' event (choosing it again adds nothing),
   * pulls the content profile toward the genre's most popular books and nudges u toward them at once,
   * then fine-tunes with them as weak likes; un-choosing deletes that genre's events, exactly as deleting
   * them in the History panel does (the model re-fits without them).
   */
  async setGenre(genre: string, chosen: boolean): Promise<void> {
    const { state, store, model, feed, encoders, history } = this.p;
    const { catalog } = state;
    if (!catalog.genreBooks().has(genre)) throw new Error(`The catalog has no genre "${genre}"`);
    const events = state.events.filter((event) => event.kind === 'genre' && event.itemId === genre);
    if (!chosen) {
      const ids = events.map((event) => event.id).filter((id) => id !== PENDING_EVENT_ID);
      if (ids.length > 0) await history.deleteEvents(ids);
      return;
    }
    if (events.length > 0 || this.genresBeingChosen.has(genre)) return;
    this.genresBeingChosen.add(genre);
    try {
      state.lastUserEventAt = performance.now();
      encoders.userActive();
      const stored = await store.appendMakingRoom({ kind: 'genre', itemId: genre, at: state.deps.now() });
      state.events.push(stored);
    } finally {
      this.genresBeingChosen.delete(genre);
    }
    // The genre's books are read before the rest of the catalog: its vector is their mean.
    state.urgent.push(...genreSeedCandidates(catalog, genre).filter((index) => !state.vectors.rows[index]));
    state.rebuildProfile();
    const personal = model.personal;
    if (personal) {
      personal.seedGenre(genreSeeds(catalog, state.vectors.rows, genre), (item) => model.randomUnseen(item, new Set()));
      void personal.saveUser();
      model.fineTuneSoon();
    }
    state.view.historyChanged(state.events.length, { ...genreSnapshot(catalog, state.events), feed: feed.rank() });
    state.deps.broadcast({ type: 'history-changed' });
  }
}
