/**
 * The scale path's timings for the bench and DevTools (e2e/scale-columns.spec.ts reads them after each Like):
 * one User Timing measure a name, the last one only (a long visit does not pile them up).
 */
export function measureLast(name: string, start: number, detail: Record<string, number>): void {
  performance.clearMeasures(name);
  performance.measure(name, { start, end: performance.now(), detail });
}
