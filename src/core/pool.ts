/**
 * Async work over a list with a bounded number in flight: HEAD requests for a large catalog's sizes
 * (engine/scale-quota.ts), the verifiable leader's reports checked with the helper (server/verifiable/service.ts),
 * the benches' simulated devices (server/bench-client.ts' users).
 */

/** Runs `work` over `items` with at most `concurrency` in flight; the results in the items' order. */
export async function pool<T, R>(items: readonly T[], work: (item: T, i: number) => Promise<R>, concurrency: number): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}
