import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_KINDS } from './events';
import { eventKey, EXPORT_VERSION, ImportError, MAX_EXPORT_BYTES, parseExport, serializeExport } from './export-format';
import { MAX_ABS_WEIGHT, MIN_EVENT_TIME } from './limits';

/** A real time for test events: T0 + n ms. */
const T0 = Date.UTC(2026, 0, 1);

const eventArb = fc.record({
  kind: fc.constantFrom(...EVENT_KINDS),
  itemId: fc.string({ minLength: 1, maxLength: 40 }),
  at: fc.integer({ min: MIN_EVENT_TIME, max: Date.now() }),
});
const weightArb = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })).chain(([n, d]) =>
  fc.record({
    name: fc.string({ minLength: 1, maxLength: 20 }),
    version: fc.nat(),
    shape: fc.constant<number[]>([n, d]),
    values: fc.array(fc.double({ noNaN: true, min: -MAX_ABS_WEIGHT, max: MAX_ABS_WEIGHT }), { minLength: n * d, maxLength: n * d }),
  }),
);

describe('export format', () => {
  it('round-trips any history, settings and weights exactly', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 50 }),
        fc.dictionary(
          fc.stringMatching(/^[A-Za-z][\w.-]{0,12}$/),
          fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(fc.integer())),
        ),
        fc.array(weightArb, { maxLength: 3 }),
        (events, settings, weights) => {
          const data = { exportedAt: new Date(0).toISOString(), events, settings, weights };
          const parsed = parseExport(serializeExport(data));
          // JSON has no -0: compare through JSON, as the file does.
          expect(parsed).toEqual(JSON.parse(JSON.stringify({ format: 'private-recs-export', version: EXPORT_VERSION, ...data })));
        },
      ),
    );
  });

  it('refuses truncated, newer, foreign, hand-edited and oversized files with a message', () => {
    const good = serializeExport({ exportedAt: 'x', events: [{ kind: 'like', itemId: '1', at: T0 }], settings: {}, weights: [] });
    expect(() => parseExport(good.slice(0, -10))).toThrow(/truncated/);
    expect(() => parseExport(good.replace('"version":1', '"version":2'))).toThrow(/newer version/);
    expect(() => parseExport('{"hello": "world"}')).toThrow(/not a Private Recs data export/);
    expect(() => parseExport(good.replace('"kind":"like"', '"kind":"love"'))).toThrow(/damaged or was edited: events.0.kind/);
    expect(() => parseExport(' '.repeat(MAX_EXPORT_BYTES + 1))).toThrow(/never larger than 50 MB/);
    expect(() => parseExport(good.slice(0, -10))).toThrow(ImportError);
  });

  it('refuses settings with nested objects or odd names', () => {
    const withSettings = (settings: string) => `{"format":"private-recs-export","version":1,"exportedAt":"x","events":[],"weights":[],"settings":${settings}}`;
    expect(() => parseExport(withSettings('{"a":{"__proto__":{"x":1}}}'))).toThrow(ImportError);
    // A top-level "__proto__" key is dropped by validation; the result is a plain object.
    const dropped = parseExport(withSettings('{"__proto__":1}')).settings;
    expect(Object.keys(dropped)).toEqual([]);
    expect(Object.getPrototypeOf(dropped)).toBe(Object.prototype);
    expect(() => parseExport(withSettings('{"_x":1}'))).toThrow(ImportError);
    expect(parseExport(withSettings('{"feedSize":20,"tags":["a"]}')).settings).toEqual({ feedSize: 20, tags: ['a'] });
  });

  it('refuses event times the History panel cannot show, and times before 2000 or after tomorrow', () => {
    const withTime = (at: string) =>
      `{"format":"private-recs-export","version":1,"exportedAt":"x","events":[{"kind":"like","itemId":"1","at":${at}}],"weights":[],"settings":{}}`;
    // 1e20 is finite, but new Date(1e20) is an Invalid Date: the History panel threw on it.
    for (const at of ['1e20', '-1', '0', '946684799999', String(Date.now() + 2 * 86_400_000), '1e308']) {
      expect(() => parseExport(withTime(at)), at).toThrow(/damaged or was edited: events.0.at: the time must lie between 2000-01-01 and tomorrow/);
    }
    expect(parseExport(withTime(String(MIN_EVENT_TIME))).events[0]!.at).toBe(MIN_EVENT_TIME);
    expect(parseExport(withTime(String(Date.now() + 3_600_000))).events).toHaveLength(1);
  });

  it('refuses weights so large that scores would overflow, finite or not', () => {
    const withValue = (value: string) =>
      `{"format":"private-recs-export","version":1,"exportedAt":"x","events":[],"settings":{},"weights":[{"name":"w","version":1,"shape":[2],"values":[0.5,${value}]}]}`;
    for (const value of ['3e38', '-3e38', '1e300', String(MAX_ABS_WEIGHT * 1.01)]) {
      expect(() => parseExport(withValue(value)), value).toThrow(/weights.0: a value lies beyond ±10000/);
    }
    expect(parseExport(withValue(String(-MAX_ABS_WEIGHT))).weights[0]!.values).toEqual([0.5, -MAX_ABS_WEIGHT]);
  });

  it('refuses weights whose values do not match their shape', () => {
    const bad = serializeExport({ exportedAt: 'x', events: [], settings: {}, weights: [{ name: 'w', version: 1, shape: [2, 2], values: [1, 2, 3] }] });
    expect(() => parseExport(bad)).toThrow(/values do not match shape/);
  });

  it('reads genre choices, files from before them, and keeps a genre this catalog may not have', () => {
    const withGenres = serializeExport({
      exportedAt: 'x',
      events: [
        { kind: 'genre', itemId: 'horror', at: T0 + 1 },
        { kind: 'genre', itemId: 'a-genre-no-catalog-has', at: T0 + 2 },
        { kind: 'like', itemId: '7', at: T0 + 3 },
      ],
      settings: {},
      weights: [],
    });
    expect(parseExport(withGenres).events.map((e) => `${e.kind}:${e.itemId}`)).toEqual(['genre:horror', 'genre:a-genre-no-catalog-has', 'like:7']);
    // A file written before genre choices existed (the four item kinds only) still reads.
    const old = `{"format":"private-recs-export","version":1,"exportedAt":"x","events":[{"kind":"view","itemId":"1","at":${T0 + 1}},{"kind":"dislike","itemId":"2","at":${T0 + 2}}],"settings":{},"weights":[]}`;
    expect(parseExport(old).events).toHaveLength(2);
    // A genre name is validated like an item id: never empty, never huge.
    expect(() => parseExport(withGenres.replace('"itemId":"horror"', '"itemId":""'))).toThrow(/damaged or was edited: events.0.itemId/);
    expect(() => parseExport(withGenres.replace('"itemId":"horror"', `"itemId":"${'h'.repeat(201)}"`))).toThrow(/damaged or was edited: events.0.itemId/);
  });

  it('keys events by kind, item and time', () => {
    expect(eventKey({ kind: 'like', itemId: '1', at: 2 })).toBe(eventKey({ kind: 'like', itemId: '1', at: 2 }));
    expect(eventKey({ kind: 'like', itemId: '1', at: 2 })).not.toBe(eventKey({ kind: 'click', itemId: '1', at: 2 }));
    expect(eventKey({ kind: 'genre', itemId: '1', at: 2 })).not.toBe(eventKey({ kind: 'like', itemId: '1', at: 2 }));
  });
});
