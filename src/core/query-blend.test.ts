import { describe, expect, it } from 'vitest';
import { expandQuery, FEEDBACK_BOOKS, QUERY_GATE_FACTOR, queryGate, queryRelevance, steerByQuery } from './query-blend';
import { normalized } from './vector';

const unit = (...values: number[]) => normalized(Float32Array.from(values));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

/** 200 books in 3-d: 100 "mysteries" around (1, 0.2, 0), 100 "romances" around (0, 0.2, 1), with jitter. */
function twoTopics(): Float32Array[] {
  let seed = 7;
  const jitter = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.4;
  return Array.from({ length: 200 }, (_, i) => (i < 100 ? unit(1 + jitter(), 0.2 + jitter(), jitter()) : unit(jitter(), 0.2 + jitter(), 1 + jitter())));
}

describe('expandQuery', () => {
  it('moves a vague query toward the books it finds first (pseudo-relevance feedback)', () => {
    const rows = twoTopics();
    // Mostly the direction every book shares, a little toward the mysteries.
    const vague = unit(0.3, 1, 0.1);
    const expanded = expandQuery(vague, { rows });
    const mystery = unit(1, 0.2, 0);
    expect(dot(expanded, mystery)).toBeGreaterThan(dot(vague, mystery));
    expect(Math.hypot(...expanded)).toBeCloseTo(1, 5);
  });

  it('leaves the query alone in a catalog too small for feedback to mean anything', () => {
    const rows = twoTopics().slice(0, 50);
    const query = unit(0.3, 1, 0.1);
    expect([...expandQuery(query, { rows })]).toEqual([...query]);
    expect(FEEDBACK_BOOKS).toBeGreaterThan(0);
  });
});

describe('queryRelevance', () => {
  it('is the words alone without a query vector, and the blend weight is bounded', () => {
    const rows = [unit(1, 0), unit(0, 1), undefined];
    const lexical = Float32Array.of(0, 1, 0.5);
    const { relevance, cosine } = queryRelevance({ lexical, lexicalWeight: 0.3 }, { rows });
    expect([...relevance]).toEqual([0, 1, 0.5]);
    expect(cosine).toBeNull();
    const blended = queryRelevance({ vector: unit(1, 0), lexical, lexicalWeight: 7 }, { rows }).relevance;
    // A weight above 1 is clamped to 1: the words alone, never a negative share for the cosine.
    expect([...blended]).toEqual([0, 1, 0.5]);
    const semantic = queryRelevance({ vector: unit(1, 0), lexical, lexicalWeight: 0 }, { rows }).relevance;
    expect(semantic[0]).toBeCloseTo(1, 6);
    expect(semantic[2]).toBe(0); // no vector yet, no words count at weight 0
  });
});

describe('queryGate and steerByQuery', () => {
  it('never lets a liked-looking book that does not match the query into the feed', () => {
    // Six books matching the query (relevance 0.9..0.4) and one the user's taste adores (relevance 0.1).
    const relevance = Float32Array.of(0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.1);
    const taste = Float32Array.of(0, 0, 0, 0, 0, 0, 100);
    const k = 3;
    const gate = queryGate(relevance, k, () => false, taste);
    expect(gate).toHaveLength(k * QUERY_GATE_FACTOR);
    expect(gate).not.toContain(6);
    const order = steerByQuery(
      Float32Array.from(gate, (i) => relevance[i]!),
      Float32Array.from(gate, (i) => taste[i]!),
    );
    const best = gate[order.indexOf(Math.max(...order))];
    expect(best).toBe(0);
  });

  it('lets taste decide between books that match the query about equally', () => {
    const relevance = Float32Array.of(0.801, 0.8, 0.3);
    const taste = Float32Array.of(0, 1, 0);
    const order = steerByQuery(relevance, taste);
    expect(order[1]!).toBeGreaterThan(order[0]!);
    // With the query's share at 1, taste does not count at all.
    const queryOnly = steerByQuery(relevance, taste, 1);
    expect(queryOnly[0]!).toBeGreaterThan(queryOnly[1]!);
    expect(() => steerByQuery(relevance, taste, 1.5)).toThrow(RangeError);
    expect(() => steerByQuery(relevance, Float32Array.of(1), 0.5)).toThrow(RangeError);
  });

  it('fills the gate from the feed order when the query reaches too few books, skipping excluded ones', () => {
    const relevance = Float32Array.of(0, 0.7, 0, 0, 0);
    const feed = Float32Array.of(5, 4, 3, 2, 1);
    expect(queryGate(relevance, 1.5, (i) => i === 0, feed)).toEqual([1, 2, 3]);
  });
});
