import { describe, expect, it } from 'vitest';
import { parseInteractionCsv, parseMovieLens100k, type InteractionData } from './data';
import { coldItemSplit, leaveOneOutSplit, roundHalfEven, stratifiedSplit, temporalSplit } from './splits';

function synthetic(): InteractionData {
  const lines = ['user,item,value,time'];
  for (let u = 0; u < 30; u++) for (let i = 0; i < 40; i++) if ((u * 7 + i * 3) % 5 < 2) lines.push(`u${u},i${i},${1 + (i % 5)},${1000 + u * 100 + i}`);
  const items = ['item,text', ...Array.from({ length: 40 }, (_, i) => `i${i},"Item ${i}, a text"`)];
  return parseInteractionCsv(lines.join('\n'), items.join('\n'));
}

const pairs = (data: InteractionData, rows: readonly number[]) => new Set(rows.map((r) => `${data.users[r]}:${data.items[r]}`));

describe('splits leak nothing', () => {
  const data = synthetic();
  it('stratified: disjoint, complete, per-user 75% by Python rounding', () => {
    const split = stratifiedSplit(data, 0.75, 1);
    const train = new Set(split.train);
    expect(split.test.some((r) => train.has(r))).toBe(false);
    expect(split.train.length + split.test.length).toBe(data.users.length);
    const perUser = new Map<number, number>();
    for (const r of split.train) perUser.set(data.users[r]!, (perUser.get(data.users[r]!) ?? 0) + 1);
    const totals = new Map<number, number>();
    data.users.forEach((u) => totals.set(u, (totals.get(u) ?? 0) + 1));
    for (const [user, total] of totals) expect(perUser.get(user) ?? 0).toBe(roundHalfEven(0.75 * total));
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
  });
  it('temporal: every test interaction is later than the same user’s training ones', () => {
    const split = temporalSplit(data, 0.8);
    const latestTrain = new Map<number, number>();
    for (const r of split.train) latestTrain.set(data.users[r]!, Math.max(latestTrain.get(data.users[r]!) ?? -Infinity, data.times[r]!));
    for (const r of split.test) expect(data.times[r]!).toBeGreaterThan(latestTrain.get(data.users[r]!)!);
  });
  it('leave-one-out: the held-out pair is not in training and its 99 candidates were never seen by the user', () => {
    const split = leaveOneOutSplit(data, 10, 3);
    const trainPairs = pairs(data, split.train);
    split.test.forEach((row, t) => {
      expect(trainPairs.has(`${data.users[row]}:${data.items[row]}`)).toBe(false);
      const seen = new Set(data.items.filter((_, r) => data.users[r] === data.users[row]));
      for (const c of split.candidates[t]!) expect(seen.has(c)).toBe(false);
      expect(split.candidates[t]!.length).toBe(10);
    });
  });
  it('cold items: no training interaction touches a held-out item', () => {
    const split = coldItemSplit(data, 0.1, 5);
    const cold = new Set(split.coldItems);
    expect(cold.size).toBe(4);
    expect(split.train.some((r) => cold.has(data.items[r]!))).toBe(false);
    expect(split.test.every((r) => cold.has(data.items[r]!))).toBe(true);
  });
});

describe('MovieLens 100K parser', () => {
  it('reads ratings and builds "title (year) genres" texts', () => {
    const data = parseMovieLens100k(
      '1\t2\t5\t881250949\n3\t1\t3\t881250950\n',
      '1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n2|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n',
    );
    expect(data.itemTexts).toEqual(["Toy Story (1995) Animation, Children's, Comedy", 'GoldenEye (1995) Action, Adventure, Thriller']);
    expect(Array.from(data.items)).toEqual([1, 0]);
    expect(data.userIds).toEqual(['1', '3']);
    expect(Array.from(data.values)).toEqual([5, 3]);
  });
});
