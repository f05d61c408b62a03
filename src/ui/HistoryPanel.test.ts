import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import './i18n';
import { EventTime } from './HistoryPanel';

describe("the History panel's event time", () => {
  it('never throws on a time no Date can show (1e20 blanked the whole page with a RangeError)', () => {
    for (const at of [1e20, -1e20, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(renderToStaticMarkup(createElement(EventTime, { at }))).toBe('<span class="event-time">at an unknown time</span>');
    }
  });

  it('shows a real time as a <time> with its ISO date', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4);
    expect(renderToStaticMarkup(createElement(EventTime, { at }))).toMatch(/^<time dateTime="2026-01-02T03:04:00.000Z">.*2026.*<\/time>$/);
  });
});
