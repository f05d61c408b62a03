import { describe, expect, it } from 'vitest';
import type { EngineSnapshot } from '../engine/api';
import { snapshotAfterWorkerError } from './engine-failure';
import { STARTING } from './starting-snapshot';

describe('snapshotAfterWorkerError', () => {
  it('turns a page still loading into the error page, with the message', () => {
    const next = snapshotAfterWorkerError(undefined, 'Failed to fetch a worker script');
    expect(next?.phase).toBe('error');
    expect(next?.error).toBe('The recommendation engine could not start: Failed to fetch a worker script');
    expect(next?.workerFailed).toBe(true);
    expect(snapshotAfterWorkerError({ ...STARTING, activity: 'Reading the catalog…' }, '')?.error).toMatch(/could not start: no message$/);
  });

  it('keeps a ready feed and asks for a reload', () => {
    const ready: EngineSnapshot = { ...STARTING, phase: 'ready', feed: [{ id: 'a', title: 'A', reason: 'Popular' }] };
    const next = snapshotAfterWorkerError(ready, 'Uncaught RangeError: Array buffer allocation failed');
    expect(next?.phase).toBe('ready');
    expect(next?.feed).toBe(ready.feed);
    expect(next?.reloadReason).toMatch(/RangeError: Array buffer allocation failed.*Reload the page/);
    expect(next?.workerFailed).toBeUndefined();
  });

  it('leaves an erased page and an error page as they are', () => {
    expect(snapshotAfterWorkerError({ ...STARTING, phase: 'erased' }, 'x')).toBeUndefined();
    expect(snapshotAfterWorkerError({ ...STARTING, phase: 'error', error: 'first' }, 'x')).toBeUndefined();
  });
});
