import { DEFAULT_DIVERSITY, type EngineSnapshot } from '../engine/api';

/** What the page shows before the engine's first word (and the base of a restored feed's snapshot). */
export const STARTING: EngineSnapshot = {
  phase: 'loading',
  activity: 'Starting…',
  feed: [],
  warnings: [],
  historySize: 0,
  historyVersion: 0,
  diversity: DEFAULT_DIVERSITY,
};
