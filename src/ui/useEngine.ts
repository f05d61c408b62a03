import { useEffect, useRef, useState } from 'react';
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
    void engine.start(config, listen(setSnapshot));
  }, [config]);
  return { snapshot, engine: engineRef.current };
}
