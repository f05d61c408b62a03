import { startTransition, useEffect, useState } from 'react';
import { flushSync } from 'react-dom';
import type { EngineSnapshot } from '../engine/api';
import { engine, latestSnapshot, subscribe } from './engine-boot';
import { STARTING } from './starting-snapshot';
import type { EngineClient } from './engine-client';

const INITIAL = STARTING;
/** The User Timing measure of the last new feed's render. */
export const FEED_RENDER_MEASURE = 'feed-render';

/** Mirrors the page's engine (started early by engine-boot.ts) into React. */
export function useEngine(): { snapshot: EngineSnapshot; engine: EngineClient } {
  const [snapshot, setSnapshot] = useState(() => latestSnapshot() ?? INITIAL);
  useEffect(() => {
    // What React was last given; a snapshot may have arrived between the first render and now.
    let current = latestSnapshot() ?? INITIAL;
    setSnapshot(current);
    return subscribe((incoming) => {
      const next = shareUnchanged(current, incoming);
      if (next === current) return;
      const feedChanged = next.feed !== current.feed;
      current = next;
      // A new feed is rendered at once, inside the message that brings it, not in a later scheduler
      // task: the answer to a Like is on screen by the next frame even when the page is busy. Anything
      // else (progress, training, panels) renders as a transition, which React interrupts every few
      // milliseconds: no long task on the page for what nobody is waiting on.
      if (feedChanged) {
        const received = performance.now();
        flushSync(() => setSnapshot(next));
        // For the bench and DevTools (e2e/scale-columns.spec.ts places a Like's time with it): the last new
        // feed's render, from its message on the page to React's commit. One measure, the last only.
        performance.clearMeasures(FEED_RENDER_MEASURE);
        performance.measure(FEED_RENDER_MEASURE, { start: received, end: performance.now() });
      } else startTransition(() => setSnapshot(next));
    });
  }, []);
  return { snapshot, engine };
}

/**
 * The next snapshot, reusing the previous one's value for every field that did not change: each
 * snapshot is a fresh structured-clone copy, and without this every progress message would re-render
 * the whole feed (memoised components compare by reference). Returns `previous` itself if nothing changed.
 */
export function shareUnchanged(previous: EngineSnapshot, next: EngineSnapshot): EngineSnapshot {
  let changed = false;
  const shared: Record<string, unknown> = {};
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  for (const key of keys) {
    const before = (previous as unknown as Record<string, unknown>)[key];
    const after = (next as unknown as Record<string, unknown>)[key];
    if (before === after || JSON.stringify(before) === JSON.stringify(after)) {
      if (key in next) shared[key] = before;
    } else {
      changed = true;
      if (key in next) shared[key] = after;
    }
  }
  return changed ? (shared as unknown as EngineSnapshot) : previous;
}
