import { describe, expect, it, vi } from 'vitest';
import type { EngineSnapshot } from '../engine/api';

// useEngine.ts starts the page's engine worker on import (engine-boot.ts): not in Node.
vi.mock('./engine-boot', () => ({ engine: {}, latestSnapshot: () => undefined, subscribe: () => () => {} }));
const { shareUnchanged } = await import('./useEngine');

const base: EngineSnapshot = {
  phase: 'ready',
  feed: [{ id: '1', title: 'One', reason: 'Popular with readers' }],
  warnings: [],
  historySize: 0,
  historyVersion: 0,
  diversity: 0.3,
  embedding: { done: 10, total: 100, active: true },
};
const copy = (snapshot: EngineSnapshot): EngineSnapshot => structuredClone(snapshot);

describe('shareUnchanged', () => {
  it('returns the previous snapshot itself when a copy of it arrives', () => {
    expect(shareUnchanged(base, copy(base))).toBe(base);
  });

  it('keeps the previous feed (same reference) when only progress moved', () => {
    const next = shareUnchanged(base, { ...copy(base), embedding: { done: 42, total: 100, active: true } });
    expect(next.feed).toBe(base.feed);
    expect(next.embedding).toEqual({ done: 42, total: 100, active: true });
  });

  it('takes a changed feed, and drops fields the new snapshot no longer has', () => {
    const { embedding: _, ...rest } = copy(base);
    const feed = [{ id: '2', title: 'Two', reason: 'Because you liked “One”' }];
    const next = shareUnchanged(base, { ...rest, feed });
    expect(next.feed).toBe(feed);
    expect('embedding' in next).toBe(false);
    expect(next.warnings).toBe(base.warnings);
  });
});
