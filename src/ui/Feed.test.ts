import { describe, expect, it } from 'vitest';
import type { Contribution } from '../engine/api';
import { sameContributions } from './Feed';

const why: Contribution[] = [
  { kind: 'liked', itemId: '3', title: 'Dune', share: 0.45 },
  { kind: 'popular', share: 0.2 },
];

describe('sameContributions (a card re-renders only when its "Why?" changed)', () => {
  it('holds for a structured-clone copy of the same list', () => {
    expect(sameContributions(why, structuredClone(why))).toBe(true);
    expect(sameContributions(undefined, undefined)).toBe(true);
  });

  it('fails when a share, a title, the order or the length changed', () => {
    expect(sameContributions(why, [{ ...why[0]!, share: 0.5 } as Contribution, why[1]!])).toBe(false);
    expect(sameContributions(why, [{ ...why[0]!, title: 'Emma' } as Contribution, why[1]!])).toBe(false);
    expect(sameContributions(why, [why[1]!, why[0]!])).toBe(false);
    expect(sameContributions(why, why.slice(0, 1))).toBe(false);
    expect(sameContributions(why, undefined)).toBe(false);
  });
});
