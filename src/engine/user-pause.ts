/**
 * Heavy or deferrable work waits for the person to pause (a like, dislike or click answered by a worker
 * with nothing else to do): one wait for the engine's modules, with an optional way out.
 */

/** When the last like, dislike or click arrived (performance.now()). */
export interface UserActivity {
  readonly lastUserEventAt: number;
}

/** How often a wait with an `unless` looks again whether it may end early. */
export const USER_PAUSE_RECHECK_MS = 100;

/**
 * Resolves once no like, dislike or click has arrived for `ms`, or as soon as `unless()` holds (someone
 * now waits for the work, the engine stopped), looked at every USER_PAUSE_RECHECK_MS. Without `unless`
 * it sleeps until the pause is due, and again if an event came meanwhile.
 */
export async function userPause(user: UserActivity, ms: number, unless?: () => boolean): Promise<void> {
  for (let wait = user.lastUserEventAt + ms - performance.now(); wait > 0 && !unless?.(); wait = user.lastUserEventAt + ms - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, unless ? Math.min(wait, USER_PAUSE_RECHECK_MS) : wait));
  }
}
