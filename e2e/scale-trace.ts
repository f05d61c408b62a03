/**
 * SCALE_PROFILE=1 in e2e/scale-columns.spec.ts: a Chromium trace (CDP `Tracing`, the timeline's categories)
 * of one Like, summed up as the longest tasks of the page's main thread and of the engine worker's thread,
 * each with the events inside it that took the most time (style, layout, paint, GC, script, a message's
 * deserialisation): where a Like's milliseconds go outside the engine's own measures.
 */
import type { BrowserContext, Page } from '@playwright/test';

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  args?: { name?: string };
}

const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'v8',
  'v8.execute',
  'blink.user_timing',
  'toplevel',
  'disabled-by-default-v8.gc',
].join(',');

/** Starts a trace; the function returned stops it and returns its summary (lines of text per thread). */
export async function startTrace(context: BrowserContext, page: Page): Promise<() => Promise<Record<string, string[]>>> {
  const cdp = await context.newCDPSession(page);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (data) => {
    for (const event of data.value) events.push(event as unknown as TraceEvent);
  });
  await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReportEvents' });
  return async () => {
    const complete = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()));
    await cdp.send('Tracing.end');
    await complete;
    await cdp.detach();
    return summarize(events);
  };
}

/** Per thread of interest: its busy time, then its tasks over 4 ms (start from the trace's first event, duration, and what took the time in them). */
export function summarize(events: readonly TraceEvent[]): Record<string, string[]> {
  const threadNames = new Map<string, string>();
  for (const event of events) if (event.ph === 'M' && event.name === 'thread_name') threadNames.set(`${event.pid}:${event.tid}`, event.args?.name ?? '');
  const timed = events.filter((event) => event.ph === 'X' && event.dur !== undefined);
  const origin = timed.reduce((first, event) => Math.min(first, event.ts), Infinity);
  const byThread = new Map<string, TraceEvent[]>();
  for (const event of timed) {
    const key = `${event.pid}:${event.tid}`;
    if (!/CrRendererMain|DedicatedWorker/.test(threadNames.get(key) ?? '')) continue;
    const list = byThread.get(key) ?? [];
    list.push(event);
    byThread.set(key, list);
  }
  const summary: Record<string, string[]> = {};
  for (const [key, list] of byThread) {
    list.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
    // Top-level events: not inside an earlier one on the same thread.
    const top: TraceEvent[] = [];
    for (const event of list) {
      const last = top[top.length - 1];
      if (!last || event.ts >= last.ts + last.dur!) top.push(event);
    }
    const busy = top.reduce((sum, event) => sum + event.dur!, 0) / 1000;
    const lines = [`busy ${busy.toFixed(1)} ms in ${top.length} tasks`];
    for (const task of top.filter((event) => event.dur! > 4000)) {
      const inside = new Map<string, number>();
      for (const event of list) {
        if (event === task || event.ts < task.ts || event.ts + event.dur! > task.ts + task.dur!) continue;
        inside.set(event.name, (inside.get(event.name) ?? 0) + event.dur! / 1000);
      }
      const heaviest = [...inside.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
        .join(', ');
      lines.push(`at ${((task.ts - origin) / 1000).toFixed(1)} ms: ${task.name} ${(task.dur! / 1000).toFixed(1)} ms (${heaviest})`);
    }
    summary[`${threadNames.get(key)} ${key}`] = lines;
  }
  return summary;
}
