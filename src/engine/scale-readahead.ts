/**
 * At catalog scale (issue 21): the rows the next Like will most likely need, read while the person pauses.
 * A Like moves the taste profile toward the liked item, and the feed's pool then holds that direction's 500
 * nearest items (stage one over the codes, engine/scale.ts `pool`): the first Like of a visit read all of their
 * vector rows and the pool's catalog rows from OPFS, one call each (163 ms at 1M items, stop 35). Here, once the
 * feed is on screen and nothing is asked of the worker for READ_AHEAD_PAUSE_MS, the profile a Like of each of the
 * first READ_AHEAD_CARDS cards would make is computed (`applyEvent`, as the Like's own rebuild does), stage one
 * finds its candidates (`candidates`, no row read), and their vector rows and catalog rows are read
 * into the engine's rows (RowSink) and the catalog's items, sorted by position, READ_AHEAD_SLICE at a time; a
 * Like then reads only what is new. The worker looks at its messages between slices: a like, dislike or click
 * meanwhile, a new feed, or a download in progress stops the round (a Like waits for one slice or one stage
 * one at most).
 *
 * Memory: at most READ_AHEAD_CARDS × TEXT_CANDIDATES rows a round (4 × 500 × 2 KB at 512-d = 4 MB), inside
 * the bounds the engine's rows (ScalePath's ROW_CACHE_LIMIT, 20,000 rows) and the catalog's items
 * (ColumnsCatalog, 50,000) already keep: the oldest read are forgotten first, read ahead or not.
 */
import { applyEvent, type ContentProfile } from '../core/profile';
import { normalized } from '../core/vector';
import { ColumnsCatalog, type EngineCatalog } from './catalog-scale';
import type { EngineParts } from './parts';
import type { RowSink, ScalePath } from './scale';
import { TEXT_CANDIDATES } from './scale-index';
import { measureLast } from './scale-marks';
import { errorMessage } from './util';
import type { CatalogVectors } from './vectors';

/** The cards a Like is read ahead for: the first of the feed, those on screen without scrolling on a phone. */
export const READ_AHEAD_CARDS = 4;
/** How long the person has not liked, disliked or clicked before a round starts. */
export const READ_AHEAD_PAUSE_MS = 300;
export const READ_AHEAD_MEASURE = 'engine:read-ahead';
/** The measure of the first card's read-ahead, right after a feed (see readAheadWhileIdle). */
export const READ_AHEAD_FIRST_MEASURE = 'engine:read-ahead-first';
/** How often the idle loop looks whether the feed on screen changed. */
const LOOK_MS = 250;
/** How often it looks in the seconds after a like, dislike or click (FAST_LOOK_FOR_MS): the next Like may come soon. */
const FAST_LOOK_MS = 30;
const FAST_LOOK_FOR_MS = 3_000;

/** Rows read between two looks at the worker's messages (a Like waits for one slice at most). */
export const READ_AHEAD_SLICE = 64;

export interface ReadAheadParts {
  scale: ScalePath;
  catalog: EngineCatalog;
  profile: ContentProfile;
  sink: RowSink;
  /** The history's items: kept when rows are forgotten. */
  history: ReadonlySet<number>;
  /**
   * With the recommendation model open: projects rows through its W ahead (PoolModel.prepare), so that the
   * Like's pool model finds W·e_i of the rows read ahead (stop 40: most of the pool model's build per rank).
   */
  prepare?: (rows: readonly Float32Array[]) => void;
  /**
   * With the recommendation model open: its text search's stage one for the u a like of the card would make,
   * which that Like's rank takes (ScaleModelSlot.stageOneAhead); the candidates, whose rows are read with the pool's.
   */
  modelStageOne?: (card: number) => readonly number[];
}

/** Stops a round: the person acted, the feed changed, the engine stopped. */
export type Cancelled = () => boolean;

const yieldToMessages = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Stage one's candidates for `direction`: the items ScalePath.pool takes from the index for it (it keeps all
 * TEXT_CANDIDATES of them, with the same exclusions), found without reading a row (each is given a zero row to score).
 */
export function candidates(scale: ScalePath, direction: Float32Array): number[] {
  if (!scale.search) return [];
  const zero = new Float32Array(scale.store.identity.dimension);
  return scale.search.query(
    direction,
    TEXT_CANDIDATES,
    (index) => !scale.indexed(index),
    undefined,
    () => zero,
  ).candidates;
}

/**
 * Reads the pool a Like of `card` would rank (stage one's candidates for the profile that Like makes, and the
 * popular items): their vector rows in the order of their place in the file, then their catalog rows, a slice
 * at a time, looking at `cancelled` between slices. Nothing when the card's own row is not held (the feed's
 * cards' rows are). Returns how many vector rows were read from storage.
 */
export async function readAheadFor(parts: () => ReadAheadParts | undefined, card: number, cancelled: Cancelled): Promise<number> {
  const first = parts();
  const row = first?.sink.rows[card];
  if (!first || !row) return 0;
  const liked = applyEvent(first.profile, 'like', row);
  if (!liked.vector) return 0;
  const { scale } = first;
  const before = scale.rowsRead;
  const found = candidates(scale, normalized(liked.vector));
  // The model's stage one in a task of its own (another scan of the codes: a Like meanwhile waits for one, not two).
  let model: readonly number[] = [];
  if (first.modelStageOne) {
    await yieldToMessages();
    const now = parts();
    if (!now || now.scale !== scale || cancelled()) return scale.rowsRead - before;
    model = first.modelStageOne(card);
  }
  // The catalog's rows (titles, bylines) of the pool only: of the model's candidates the Like adds at most
  // MODEL_POOL to its pool, and reads those (a thousand rows parsed and hashed a card cost ~0.3 s at 100k, stop 40).
  const texts = new Set([...scale.popular, ...found]);
  const pool = [...new Set([...texts, ...model])].sort((a, b) => a - b);
  for (let at = 0; at < pool.length; at += READ_AHEAD_SLICE) {
    await yieldToMessages();
    const now = parts();
    if (!now || now.scale !== scale || cancelled()) break;
    const slice = pool.slice(at, at + READ_AHEAD_SLICE);
    scale.loadRows(slice, now.sink, now.history);
    now.prepare?.(slice.flatMap((index) => now.sink.rows[index] ?? []));
    if (now.catalog instanceof ColumnsCatalog) now.catalog.load(model.length > 0 ? slice.filter((index) => texts.has(index)) : slice, now.history);
  }
  return scale.rowsRead - before;
}

/** One round over the feed's first cards, yielding to the worker's messages between slices; the rows read. */
export async function readAhead(parts: () => ReadAheadParts | undefined, cards: readonly number[], cancelled: Cancelled): Promise<number> {
  let read = 0;
  for (const card of cards.slice(0, READ_AHEAD_CARDS)) {
    await yieldToMessages();
    if (!parts() || cancelled()) break;
    read += await readAheadFor(parts, card, cancelled);
  }
  return read;
}

/** The open model's parts of a read-ahead (nothing while no model is open): its W's projections and its text search's stage one. */
function modelParts(p: EngineParts): Pick<ReadAheadParts, 'prepare' | 'modelStageOne'> {
  // (Parts without the model lifecycle: the read-ahead's tests hand over the state alone.)
  const slot = (p as Partial<EngineParts>).model?.scale;
  const pool = slot?.model?.model;
  return slot && pool ? { prepare: (rows) => void pool.prepare(rows), modelStageOne: (card) => slot.stageOneAhead(card) } : {};
}

/** The history's items, whose rows ScalePath.loadRows keeps when it forgets others (here and engine/feed.ts). */
export function historyItems(state: Pick<EngineParts['state'], 'events' | 'catalog'>): Set<number> {
  return new Set(state.events.flatMap((event) => state.catalog.indexOf(event.itemId) ?? []));
}

/** The engine's sparse vectors as the scale path fills them (here and engine/feed.ts, for a feed). */
export function rowSinkOf(vectors: CatalogVectors): RowSink {
  return { rows: vectors.rows, set: (index, row) => (row ? vectors.set(index, row, false) : (vectors.rows[index] = undefined)) };
}

/**
 * For as long as `scale` is the engine's path: each feed shown, once the text index is read and no download is
 * in progress (`downloading`), the first card's read-ahead at once, then, once the person has paused, a round
 * over the first cards (one round a feed). The first card's pass does not wait for the pause: Likes that follow
 * each other 100–120 ms apart (a reader going down the list, the e2e's five Likes) each came before the round and
 * scanned the million codes again and read their rows (10–16 ms of pool, 135–265 rows at 1M, docs/scale.md "Stop
 * 38"). It takes one stage one and the new rows of one pool; a Like that comes meanwhile waits for one slice.
 */
export async function readAheadWhileIdle(p: EngineParts, scale: ScalePath, downloading: () => boolean): Promise<void> {
  const { state } = p;
  const { view } = state;
  const current = () => !state.stopped && state.scale === scale;
  let done: unknown;
  let firstDone: unknown;
  const round = async (shown: unknown, cards: readonly number[], measure: string): Promise<boolean> => {
    const since = state.lastUserEventAt;
    // The history changes only with an event, and an event ends the round: read once a round.
    const history = historyItems(state);
    const parts = (): ReadAheadParts | undefined =>
      current()
        ? {
            scale,
            catalog: state.catalog,
            profile: state.profile,
            sink: rowSinkOf(state.vectors),
            history,
            ...modelParts(p),
          }
        : undefined;
    const started = performance.now();
    try {
      const read = await readAhead(parts, cards, () => state.lastUserEventAt !== since || view.current.feed !== shown || downloading());
      // For the bench and DevTools (e2e/scale-columns.spec.ts prints it): the last round, its rows read and its time.
      measureLast(measure, started, { rows: read });
      return true;
    } catch (error) {
      // An optimisation only: the files closed under it (an erase, another tab) end it; a Like reads what it needs.
      if (current()) console.warn('The read-ahead of the next Like stopped:', errorMessage(error));
      return false;
    }
  };
  while (current()) {
    const fast = performance.now() - state.lastUserEventAt < FAST_LOOK_FOR_MS;
    await new Promise((resolve) => setTimeout(resolve, fast ? FAST_LOOK_MS : LOOK_MS));
    const shown = view.current.feed;
    if (shown === done || !scale.search || view.current.phase !== 'ready' || downloading()) continue;
    const cards = shown.flatMap((item) => state.catalog.indexOf(item.id) ?? []);
    if (shown !== firstDone) {
      firstDone = shown;
      if (!(await round(shown, cards.slice(0, 1), READ_AHEAD_FIRST_MEASURE))) return;
    }
    // Not a wait for the pause (userPause): a new feed meanwhile (the next Like's) has its first card read at once.
    if (performance.now() - state.lastUserEventAt < READ_AHEAD_PAUSE_MS || view.current.feed !== shown) continue;
    done = shown;
    if (!(await round(shown, cards, READ_AHEAD_MEASURE))) return;
  }
}
