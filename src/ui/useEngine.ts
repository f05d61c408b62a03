import { useEffect, useRef, useState } from 'react';
import { flushSync } from 'react-dom';
import { DEFAULT_DIVERSITY, type EngineConfig, type EngineSnapshot } from '../engine/api';
import { connectEngine, listen, type EngineClient } from './engine-client';

const INITIAL: EngineSnapshot = { phase: 'loading', activity: 'Starting…', feed: [], warnings: [], historySize: 0, historyVersion: 0, diversity: DEFAULT_DIVERSITY };

/** Starts the engine once and mirrors its state into React. */
export function useEngine(config: EngineConfig): { snapshot: EngineSnapshot; engine: EngineClient | undefined } {
  const [snapshot, setSnapshot] = useState(INITIAL);
  const engineRef = useRef<EngineClient | undefined>(undefined);
  useEffect(() => {
    if (engineRef.current) return;
    const engine = connectEngine();
    engineRef.current = engine;
    // A new feed is rendered at once, inside the message that brings it, not in a later scheduler
    // task: the answer to a Like is on screen by the next frame even when the page is busy.
    let shownFeed: EngineSnapshot['feed'] | undefined;
    void engine.start(
      config,
      listen((next: EngineSnapshot) => {
        // Every snapshot carries the feed (a fresh copy: it crossed from the worker); compare by id.
        if (shownFeed && sameItems(next.feed, shownFeed)) return setSnapshot(next);
        shownFeed = next.feed;
        flushSync(() => setSnapshot(next));
      }),
    );
  }, [config]);
  return { snapshot, engine: engineRef.current };
}

function sameItems(a: readonly { id: string }[], b: readonly { id: string }[]): boolean {
  return a.length === b.length && a.every((item, i) => item.id === b[i]!.id);
}
