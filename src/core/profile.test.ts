import { describe, expect, it } from 'vitest';
import { applyEvent, buildProfile, EMPTY_PROFILE, personalWeight, PROFILE_STEPS } from './profile';

const v = (...values: number[]) => Float32Array.from(values);

describe('content profile', () => {
  it('follows P ← αH + (1−α)P for likes and pushes away for dislikes', () => {
    const alpha = PROFILE_STEPS.like!.alpha;
    const afterLike = applyEvent(EMPTY_PROFILE, 'like', v(1, 0));
    expect(Array.from(afterLike.vector!)).toEqual([alpha, 0].map(Math.fround));
    const afterDislike = applyEvent(afterLike, 'dislike', v(0, 1));
    const beta = PROFILE_STEPS.dislike!.alpha;
    expect(afterDislike.vector![0]).toBeCloseTo((1 - beta) * alpha, 6);
    expect(afterDislike.vector![1]).toBeCloseTo(-beta, 6);
    expect(afterDislike.evidence).toBe(2);
  });

  it('weighs a click less than a like and ignores views', () => {
    const liked = applyEvent(EMPTY_PROFILE, 'like', v(1, 0));
    const clicked = applyEvent(EMPTY_PROFILE, 'click', v(1, 0));
    expect(clicked.vector![0]!).toBeLessThan(liked.vector![0]!);
    expect(applyEvent(liked, 'view', v(0, 1))).toBe(liked);
  });

  it('does not modify the profile it is given', () => {
    const first = applyEvent(EMPTY_PROFILE, 'like', v(1, 0));
    const copy = Float32Array.from(first.vector!);
    applyEvent(first, 'like', v(0, 1));
    expect(first.vector).toEqual(copy);
  });

  it('refuses embeddings of another dimension', () => {
    const first = applyEvent(EMPTY_PROFILE, 'like', v(1, 0));
    expect(() => applyEvent(first, 'like', v(1, 0, 0))).toThrow(RangeError);
  });

  it('replays history in time order and skips items without embeddings', () => {
    const embeddings: Record<string, Float32Array> = { a: v(1, 0), b: v(0, 1) };
    const events = [
      { kind: 'like' as const, itemId: 'b', at: 2 },
      { kind: 'like' as const, itemId: 'a', at: 1 },
      { kind: 'like' as const, itemId: 'unknown', at: 3 },
    ];
    const replayed = buildProfile(events, (id) => embeddings[id]);
    const manual = applyEvent(applyEvent(EMPTY_PROFILE, 'like', v(1, 0)), 'like', v(0, 1));
    expect(replayed).toEqual(manual);
  });

  it('pulls toward a chosen genre less than a like, and never looks a genre name up as an item', () => {
    const items: Record<string, Float32Array> = { horror: v(0, 1), a: v(1, 0) };
    const genres: Record<string, Float32Array> = { horror: v(1, 0) };
    const events = [{ kind: 'genre' as const, itemId: 'horror', at: 1 }];
    const seeded = buildProfile(
      events,
      (id) => items[id],
      (genre) => genres[genre],
    );
    // Toward the genre's vector, not the item that happens to share its name.
    expect(seeded.vector![0]!).toBeGreaterThan(0);
    expect(seeded.vector![1]).toBe(0);
    const liked = buildProfile([{ kind: 'like', itemId: 'a', at: 1 }], (id) => items[id]);
    expect(seeded.vector![0]!).toBeLessThan(liked.vector![0]!);
    expect(personalWeight(seeded.evidence)).toBeGreaterThan(0);
    // A like outweighs a genre, whichever came first.
    const likeVector = { b: v(0, 1) };
    for (const [genreAt, likeAt] of [
      [1, 2],
      [2, 1],
    ]) {
      const both = buildProfile(
        [
          { kind: 'genre', itemId: 'horror', at: genreAt! },
          { kind: 'like', itemId: 'b', at: likeAt! },
        ],
        (id) => likeVector[id as 'b'],
        (genre) => genres[genre],
      );
      expect(both.vector![1]!).toBeGreaterThan(both.vector![0]!);
    }
    // A genre the catalog has no vector for (or no genre lookup at all) is skipped.
    expect(
      buildProfile(
        [{ kind: 'genre', itemId: 'unknown', at: 1 }],
        (id) => items[id],
        (genre) => genres[genre],
      ),
    ).toEqual(EMPTY_PROFILE);
    expect(buildProfile(events, (id) => items[id])).toEqual(EMPTY_PROFILE);
  });

  it('gives a new user pure popularity and lets evidence take over', () => {
    expect(personalWeight(0)).toBe(0);
    expect(personalWeight(1)).toBeGreaterThan(0.3);
    expect(personalWeight(3)).toBeGreaterThan(personalWeight(1));
    expect(personalWeight(1000)).toBeLessThan(1);
  });
});
