import { memo, type ComponentType } from 'react';
import type { EngineSnapshot } from '../engine/api';

/**
 * A component that takes the engine's snapshot but reads only some of its fields, memoised on those
 * fields (and on its other props by identity). useEngine keeps unchanged fields' identity from one
 * snapshot to the next, so progress messages do not re-render panels that do not show progress, and a
 * Like renders the feed, not every panel.
 */
export function memoOnSnapshotFields<P extends { snapshot: EngineSnapshot }>(component: ComponentType<P>, fields: readonly (keyof EngineSnapshot)[]) {
  return memo(component, (before, after) => {
    for (const key of Object.keys(after) as (keyof P)[]) {
      if (key !== 'snapshot' && before[key] !== after[key]) return false;
    }
    return fields.every((field) => before.snapshot[field] === after.snapshot[field]);
  });
}
