import { useEffect, useState } from 'react';
import { flushSync } from 'react-dom';
import { DEFAULT_DIVERSITY, type EngineSnapshot } from '../engine/api';
import { engine, latestSnapshot, subscribe } from './engine-boot';
import type { EngineClient } from './engine-client';

const INITIAL: EngineSnapshot = { phase: 'loading', activity: 'Starting…', feed: [], warnings: [], historySize: 0, historyVersion: 0, diversity: DEFAULT_DIVERSITY };

/** Mirrors the page's engine (started early by engine-boot.ts) into React. */
export function useEngine(): { snapshot: EngineSnapshot; engine: EngineClient } {
  const [snapshot, setSnapshot] = useState(() => latestSnapshot() ?? INITIAL);
  useEffect(() => {
    // A snapshot may have arrived between the first render and this subscription.
    const missed = latestSnapshot();
    if (missed) setSnapshot(missed);
    let shownFeed = missed?.feed;
    return subscribe((next) => {
      // Every snapshot carries the feed (a fresh copy: it crossed from the worker); compare by id.
      if (shownFeed && sameItems(next.feed, shownFeed)) return setSnapshot(next);
      shownFeed = next.feed;
      // A new feed is rendered at once, inside the message that brings it, not in a later scheduler
      // task: the answer to a Like is on screen by the next frame even when the page is busy.
      flushSync(() => setSnapshot(next));
    });
  }, []);
  return { snapshot, engine };
}

function sameItems(a: readonly { id: string }[], b: readonly { id: string }[]): boolean {
  return a.length === b.length && a.every((item, i) => item.id === b[i]!.id);
}
