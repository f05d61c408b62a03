import { describe, expect, it } from 'vitest';
import { USER_ACTIVE_MS } from '../core/encoder-pool';
import { giveWayToUser } from './search';

/** Whether `promise` settles within `ms` of real time. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return settled;
}

describe('giveWayToUser: background slices (the BM25 build) wait while the user is liking', () => {
  it('goes on at once when the user has been quiet for USER_ACTIVE_MS', async () => {
    const user = { lastUserEventAt: performance.now() - USER_ACTIVE_MS - 1, stopped: false };
    expect(
      await settlesWithin(
        giveWayToUser(user, () => false),
        50,
      ),
    ).toBe(true);
  });

  it('holds while likes keep coming, and goes on once someone waits for the work (a search)', async () => {
    const user = { lastUserEventAt: performance.now(), stopped: false };
    let searching = false;
    const pause = giveWayToUser(user, () => searching);
    expect(await settlesWithin(pause, 300)).toBe(false);
    user.lastUserEventAt = performance.now(); // another like
    expect(await settlesWithin(pause, 300)).toBe(false);
    searching = true;
    expect(await settlesWithin(pause, 250)).toBe(true);
  });

  it('goes on once the user pauses, and when the engine stops', async () => {
    const user = { lastUserEventAt: performance.now(), stopped: false };
    const pause = giveWayToUser(user, () => false);
    expect(await settlesWithin(pause, 200)).toBe(false);
    user.lastUserEventAt = performance.now() - USER_ACTIVE_MS; // as if the last like were that long ago
    expect(await settlesWithin(pause, 250)).toBe(true);
    const stopping = { lastUserEventAt: performance.now(), stopped: false };
    const held = giveWayToUser(stopping, () => false);
    stopping.stopped = true;
    expect(await settlesWithin(held, 250)).toBe(true);
  });
});
