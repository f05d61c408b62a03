import { describe, expect, it } from 'vitest';
import { userPause } from './user-pause';

/** Whether `promise` settles within `ms` of real time. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return settled;
}

describe('userPause: deferrable work waits until the user has paused', () => {
  it('waits `ms` after the last event, and again from an event that comes meanwhile (the backend start after a first feed)', async () => {
    const user = { lastUserEventAt: performance.now() };
    const pause = userPause(user, 300);
    expect(await settlesWithin(pause, 150)).toBe(false);
    user.lastUserEventAt = performance.now(); // a like
    expect(await settlesWithin(pause, 250)).toBe(false);
    expect(await settlesWithin(pause, 200)).toBe(true);
  });

  it('goes on at once when the pause is already over, or once `unless()` holds', async () => {
    expect(await settlesWithin(userPause({ lastUserEventAt: performance.now() - 1000 }, 500), 20)).toBe(true);
    let wanted = false;
    const pause = userPause({ lastUserEventAt: performance.now() }, 10_000, () => wanted);
    expect(await settlesWithin(pause, 150)).toBe(false);
    wanted = true;
    expect(await settlesWithin(pause, 150)).toBe(true);
  });
});
