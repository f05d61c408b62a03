/**
 * A transaction whose `done` can never be an unhandled rejection: idb makes that promise for every
 * transaction, and when the browser deletes the database while it is open the transaction aborts, so
 * `done` rejects beside the request that fails (which the caller handles; FallbackStore then goes on
 * in memory). Callers that await `done` still see the error.
 */
export function settled<T extends { done: Promise<void> }>(tx: T): T {
  tx.done.catch(() => undefined);
  return tx;
}
