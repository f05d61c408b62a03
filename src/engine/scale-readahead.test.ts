import { describe, expect, it } from 'vitest';
import { applyEvent, EMPTY_PROFILE, type ContentProfile } from '../core/profile';
import { normalized } from '../core/vector';
import { ScalePath, type RowSink } from './scale';
import type { EngineParts } from './parts';
import {
  READ_AHEAD_FIRST_MEASURE,
  READ_AHEAD_MEASURE,
  readAhead,
  readAheadFor,
  readAheadWhileIdle,
  READ_AHEAD_CARDS,
  READ_AHEAD_SLICE,
  type ReadAheadParts,
} from './scale-readahead';
import { catalogOf, dim, hooks, modelId, n, publish, storage } from './testing/scale-fixture';

async function prepared() {
  const catalog = catalogOf();
  const { files } = await publish(catalog);
  const path = await ScalePath.open(storage(), catalog, modelId, dim, []);
  await path.prepare(hooks(files, []));
  const rows: (Float32Array | undefined)[] = new Array(n);
  const sink: RowSink = { rows, set: (i, row) => (rows[i] = row) };
  return { catalog, path, rows, sink };
}

/** The rows a Like of `card` reads from storage: the engine's rebuild of the profile, its pool, the pool's rows. */
function likeReads(path: ScalePath, sink: RowSink, profile: ContentProfile, card: number, history: number[]): number {
  const liked = applyEvent(profile, 'like', sink.rows[card]!);
  const before = path.rowsRead;
  const pool = path.pool(normalized(liked.vector!), undefined, undefined, [...history, card], sink);
  path.loadRows(pool, sink, new Set(history));
  expect(pool.every((item) => sink.rows[item])).toBe(true);
  return path.rowsRead - before;
}

describe('read-ahead of the next Like', () => {
  it("reads the pool a Like of the card would rank: that Like's feed then reads no row from storage", async () => {
    const { catalog, path, sink } = await prepared();
    // A reader who liked item 3; the feed's first card is item 40 (another cluster), its row held as the feed's are.
    path.loadRows([3, 40], sink, new Set());
    const profile = applyEvent(EMPTY_PROFILE, 'like', sink.rows[3]!);
    const parts: ReadAheadParts = { scale: path, catalog, profile, sink, history: new Set([3]) };
    const read = await readAheadFor(
      () => parts,
      40,
      () => false,
    );
    expect(read).toBeGreaterThan(0);
    expect(path.rowsRead).toBe(2 + read);

    // The Like of item 40 reads nothing more, and takes stage one's list the read-ahead found (no scan of the codes);
    // a Like of a card not read ahead (item 77, a third cluster) reads rows and scans.
    const scans = path.search!.stageOneRuns;
    expect(likeReads(path, sink, profile, 40, [3])).toBe(0);
    expect(path.search!.stageOneRuns).toBe(scans);
    path.loadRows([77], sink, new Set());
    expect(likeReads(path, sink, profile, 77, [3])).toBeGreaterThan(0);
    expect(path.search!.stageOneRuns).toBe(scans + 1);
    path.close();
  });

  it("with the model open, reads its stage one's candidates for the card too (in a task of its own) and projects the rows it reads", async () => {
    const { catalog, path, sink } = await prepared();
    path.loadRows([3, 40], sink, new Set());
    const profile = applyEvent(EMPTY_PROFILE, 'like', sink.rows[3]!);
    const asked: number[] = [];
    const projected = new Set<Float32Array>();
    const model = [n - 1, n - 2, n - 3];
    const parts: ReadAheadParts = {
      scale: path,
      catalog,
      profile,
      sink,
      history: new Set([3]),
      modelStageOne: (card) => (asked.push(card), model),
      prepare: (rows) => rows.forEach((row) => projected.add(row)),
    };
    await readAheadFor(
      () => parts,
      40,
      () => false,
    );
    expect(asked).toEqual([40]);
    expect(model.every((item) => sink.rows[item])).toBe(true);
    expect(model.every((item) => projected.has(sink.rows[item]!))).toBe(true);
    // Cancelled after the content direction's stage one: the model's is not run, no row is read.
    const before = path.rowsRead;
    let looks = 0;
    await readAheadFor(
      () => parts,
      40,
      () => ++looks > 0,
    );
    expect(asked).toEqual([40]);
    expect(path.rowsRead).toBe(before);
    path.close();
  });

  it('a card whose row is not held is skipped; a round covers the first cards; a cancelled one stops after its slice', async () => {
    const { catalog, path, sink } = await prepared();
    const parts: ReadAheadParts = { scale: path, catalog, profile: EMPTY_PROFILE, sink, history: new Set() };
    expect(
      await readAheadFor(
        () => parts,
        12,
        () => false,
      ),
    ).toBe(0);
    expect(path.rowsRead).toBe(0);
    // Cancelled once a slice is read: that slice only.
    path.loadRows([12], sink, new Set());
    let looked = 0;
    const cut = await readAheadFor(
      () => parts,
      12,
      () => looked++ > 0,
    );
    expect(cut).toBeGreaterThan(0);
    expect(cut).toBeLessThanOrEqual(READ_AHEAD_SLICE);
    // Six cards of six clusters: the first READ_AHEAD_CARDS are read ahead, the others not.
    const cards = [20, 21, 22, 23, 24, 5];
    path.loadRows(cards, sink, new Set());
    expect(
      await readAhead(
        () => parts,
        cards,
        () => false,
      ),
    ).toBeGreaterThan(0);
    for (const card of cards.slice(0, READ_AHEAD_CARDS)) expect(likeReads(path, sink, EMPTY_PROFILE, card, [])).toBe(0);
    expect(likeReads(path, sink, EMPTY_PROFILE, cards[READ_AHEAD_CARDS + 1]!, [])).toBeGreaterThan(0);
    // The engine gone (no parts): nothing read.
    expect(
      await readAhead(
        () => undefined,
        [30],
        () => false,
      ),
    ).toBe(0);
    path.close();
  });

  it("each new feed's first card is read ahead at once, while the person goes on acting; the round over the first cards once they pause", async () => {
    const { catalog, path, rows, sink } = await prepared();
    path.loadRows([3, 40, 41, 42, 60, 61], sink, new Set());
    const profile = applyEvent(EMPTY_PROFILE, 'like', rows[3]!);
    // The engine's parts the loop reads: a feed of items 40, 41, 42 just shown after a Like of item 3.
    const state = {
      stopped: false,
      scale: path,
      catalog,
      profile,
      vectors: { rows, set: (index: number, row: Float32Array) => (rows[index] = row) },
      events: [{ kind: 'like', itemId: 'i3', at: 0 }],
      lastUserEventAt: performance.now(),
      view: { current: { phase: 'ready', feed: [40, 41, 42].map((i) => ({ id: `i${i}` })) } },
    };
    // A person who goes on acting: the pause never comes while their last event is dated ahead of the clock
    // (an event that came meanwhile would end the pass under way, as a Like does).
    const act = () => (state.lastUserEventAt = performance.now() + 60_000);
    act();
    const firstPasses = () => performance.getEntriesByName(READ_AHEAD_FIRST_MEASURE, 'measure').length;
    const firstRows = () =>
      ((performance.getEntriesByName(READ_AHEAD_FIRST_MEASURE, 'measure')[0] as PerformanceMeasure | undefined)?.detail as { rows?: number } | undefined)
        ?.rows ?? 0;
    performance.clearMeasures(READ_AHEAD_FIRST_MEASURE);
    performance.clearMeasures(READ_AHEAD_MEASURE);
    void readAheadWhileIdle({ state } as unknown as EngineParts, path, () => false);
    await expect.poll(firstPasses, { timeout: 2_000, interval: 10 }).toBe(1);
    const scans = path.search!.stageOneRuns;
    expect(likeReads(path, sink, profile, 40, [3])).toBe(0);
    expect(path.search!.stageOneRuns).toBe(scans);
    // The next feed (item 60 first), shown after the person's next event: its first card is read ahead too.
    performance.clearMeasures(READ_AHEAD_FIRST_MEASURE);
    act();
    state.view.current = { phase: 'ready', feed: [60, 61].map((i) => ({ id: `i${i}` })) };
    await expect.poll(firstRows, { timeout: 2_000, interval: 10 }).toBeGreaterThan(0);
    expect(likeReads(path, sink, profile, 60, [3])).toBe(0);
    // The second card waits for the pause.
    expect(performance.getEntriesByName(READ_AHEAD_MEASURE, 'measure')).toHaveLength(0);
    expect(likeReads(path, sink, profile, 61, [3])).toBeGreaterThan(0);
    // Once the person pauses, the round over the first cards.
    state.lastUserEventAt = performance.now() - 1_000;
    await expect.poll(() => performance.getEntriesByName(READ_AHEAD_MEASURE, 'measure').length, { timeout: 3_000, interval: 20 }).toBe(1);
    state.stopped = true;
    path.close();
  });
});
